"""Tests of the NOMA lexer (LANGUAGE.md section 1): token kinds, values,
1-based locations, comments, and every lexical error with its location."""

from __future__ import annotations

import pytest

from noma.frontend.diagnostics import NomaError, SourceLoc
from noma.frontend.lexer import KEYWORDS, SYMBOLS, Token, TokenKind, tokenize


def lex(source: str) -> list[Token]:
    return tokenize(source, "t.noma")


def kinds_texts(source: str) -> list[tuple[TokenKind, str]]:
    return [(t.kind, t.text) for t in lex(source)[:-1]]


def positions(source: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.loc.line, t.loc.col) for t in lex(source)[:-1]]


def lex_error(source: str) -> NomaError:
    with pytest.raises(NomaError) as info:
        lex(source)
    return info.value


# -- basics ----------------------------------------------------------------------


def test_empty_source_is_just_eof() -> None:
    tokens = lex("")
    assert [t.kind for t in tokens] == [TokenKind.EOF]
    assert tokens[0].loc == SourceLoc("t.noma", 1, 1)


def test_whitespace_only_source_is_just_eof() -> None:
    tokens = lex("  \n\t\n  ")
    assert [t.kind for t in tokens] == [TokenKind.EOF]
    assert tokens[0].loc == SourceLoc("t.noma", 1, 1)


def test_eof_is_located_after_the_last_non_blank_character() -> None:
    tokens = lex("fn main() {\n  x;\n\n\n")
    assert tokens[-1].kind is TokenKind.EOF
    assert (tokens[-1].loc.line, tokens[-1].loc.col) == (2, 5)


def test_eof_after_a_trailing_comment_points_past_the_comment() -> None:
    eof = lex("x // note\n")[-1]
    assert (eof.loc.line, eof.loc.col) == (1, 10)


def test_a_small_statement() -> None:
    assert kinds_texts("let x = 1;") == [
        (TokenKind.KEYWORD, "let"),
        (TokenKind.IDENT, "x"),
        (TokenKind.SYMBOL, "="),
        (TokenKind.NUMBER, "1"),
        (TokenKind.SYMBOL, ";"),
    ]


def test_locations_are_one_based_lines_and_columns() -> None:
    assert positions("fn main() {\n    let x = 1;\n}") == [
        ("fn", 1, 1),
        ("main", 1, 4),
        ("(", 1, 8),
        (")", 1, 9),
        ("{", 1, 11),
        ("let", 2, 5),
        ("x", 2, 9),
        ("=", 2, 11),
        ("1", 2, 13),
        (";", 2, 14),
        ("}", 3, 1),
    ]


def test_token_end_is_just_past_the_token() -> None:
    token = lex("  hello")[0]
    assert (token.loc.col, token.end.col, token.end.line) == (3, 8, 1)


def test_filename_is_carried_on_every_location() -> None:
    for token in tokenize("a + b", "prog.noma"):
        assert token.loc.filename == "prog.noma"


def test_a_tab_counts_as_one_column() -> None:
    assert positions("\tx") == [("x", 1, 2)]


def test_crlf_is_one_line_break() -> None:
    assert positions("a\r\nb\r\n\r\nc") == [("a", 1, 1), ("b", 2, 1), ("c", 4, 1)]


def test_lone_cr_is_a_line_break_like_splitlines() -> None:
    assert positions("a\rb") == [("a", 1, 1), ("b", 2, 1)]


def test_line_breaks_inside_comments_match_splitlines() -> None:
    # U+2028 ends a line for str.splitlines (hence for NomaError.render), so it
    # must end the comment and count as a line break here too.
    source = "/* a\u2028b */ x"
    assert positions(source) == [("x", 2, 6)]
    assert source.splitlines()[1][5] == "x"


# -- comments --------------------------------------------------------------------


def test_line_comments_are_skipped() -> None:
    assert kinds_texts("a // b c\nd") == [(TokenKind.IDENT, "a"), (TokenKind.IDENT, "d")]


def test_line_comment_at_end_of_file() -> None:
    assert kinds_texts("a // the end") == [(TokenKind.IDENT, "a")]


def test_block_comments_are_skipped_across_lines() -> None:
    assert positions("a /* one\n two */ b") == [("a", 1, 1), ("b", 2, 9)]


def test_block_comments_do_not_nest() -> None:
    # The first `*/` closes the comment; the rest is code.
    assert kinds_texts("/* a /* b */ c */") == [
        (TokenKind.IDENT, "c"),
        (TokenKind.SYMBOL, "*"),
        (TokenKind.SYMBOL, "/"),
    ]


def test_block_comment_star_slash_needs_its_own_star() -> None:
    error = lex_error("x /*/ y")
    assert (error.loc.line, error.loc.col) == (1, 3)


def test_unterminated_block_comment_is_reported_at_its_start() -> None:
    error = lex_error("let x = 1;\n  /* never\n closed")
    assert error.message == "unterminated block comment (missing '*/')"
    assert (error.loc.line, error.loc.col) == (2, 3)


def test_slash_is_division_when_not_a_comment() -> None:
    assert kinds_texts("a / b") == [
        (TokenKind.IDENT, "a"),
        (TokenKind.SYMBOL, "/"),
        (TokenKind.IDENT, "b"),
    ]


# -- numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("42", 42.0),
        ("0", 0.0),
        ("007", 7.0),
        ("3.14", 3.14),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e-8", 1e-8),
        ("1e8", 1e8),
        ("2.5E+3", 2500.0),
        (".5e1", 5.0),
        ("1.e2", 100.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ],
)
def test_numbers_are_f64(text: str, value: float) -> None:
    (token, eof) = lex(text)
    assert token.kind is TokenKind.NUMBER
    assert token.text == text
    assert isinstance(token.value, float)
    assert token.value == value
    assert eof.kind is TokenKind.EOF


def test_minus_is_not_part_of_a_number() -> None:
    assert kinds_texts("-1") == [(TokenKind.SYMBOL, "-"), (TokenKind.NUMBER, "1")]


def test_number_followed_by_punctuation() -> None:
    assert kinds_texts("[1,2.5]") == [
        (TokenKind.SYMBOL, "["),
        (TokenKind.NUMBER, "1"),
        (TokenKind.SYMBOL, ","),
        (TokenKind.NUMBER, "2.5"),
        (TokenKind.SYMBOL, "]"),
    ]


@pytest.mark.parametrize(
    "source, shown, col",
    [
        ("x = 2x;", "2x", 5),
        ("1e+;", "1e+", 1),
        ("1e;", "1e", 1),
        ("  1.2.3", "1.2.3", 3),
        ("3abc", "3abc", 1),
        ("1_000", "1_000", 1),
    ],
)
def test_malformed_numbers_are_located_errors(source: str, shown: str, col: int) -> None:
    error = lex_error(source)
    assert error.message == f"invalid number literal '{shown}'"
    assert (error.loc.line, error.loc.col) == (1, col)


def test_number_too_large_for_f64() -> None:
    error = lex_error("\n  1e999")
    assert error.message == "number literal '1e999' is too large for an f64"
    assert (error.loc.line, error.loc.col) == (2, 3)


def test_lone_dot_is_an_unexpected_character() -> None:
    error = lex_error("a . b")
    assert error.message == "unexpected character '.'"
    assert error.loc.col == 3


def test_non_ascii_digits_are_not_numbers() -> None:
    error = lex_error("\u0661")  # ARABIC-INDIC DIGIT ONE
    assert error.message.startswith("unexpected character")


# -- strings ---------------------------------------------------------------------


def test_string_value_and_text() -> None:
    (token, _) = lex('"data/x.csv"')
    assert token.kind is TokenKind.STRING
    assert token.value == "data/x.csv"
    assert token.text == '"data/x.csv"'


def test_empty_string() -> None:
    assert lex('""')[0].value == ""


@pytest.mark.parametrize(
    "source, value",
    [
        (r'"a\nb"', "a\nb"),
        (r'"a\tb"', "a\tb"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\\n"', "\\n"),
    ],
)
def test_string_escapes(source: str, value: str) -> None:
    assert lex(source)[0].value == value


def test_string_end_accounts_for_escapes_in_the_source_text() -> None:
    (token, after, _) = lex(r'"a\nb" x')
    assert token.end.col == 7
    assert after.loc.col == 8


def test_non_ascii_characters_are_fine_inside_strings_and_comments() -> None:
    (token, _) = lex('"héllo ✓" // ünïcode')
    assert token.value == "héllo ✓"


def test_unknown_escape_is_reported_at_the_backslash() -> None:
    error = lex_error('print("ab\\qc");')
    assert (
        error.message == "unknown escape sequence '\\q' in string (expected \\n, \\t, \\\" or \\\\)"
    )
    assert (error.loc.line, error.loc.col) == (1, 10)


def test_unterminated_string_is_reported_at_its_start() -> None:
    error = lex_error('let s = "abc;\nlet t = 1;')
    assert error.message == "unterminated string literal (missing closing '\"')"
    assert (error.loc.line, error.loc.col) == (1, 9)


def test_unterminated_string_at_end_of_file() -> None:
    error = lex_error('  "abc')
    assert error.message.startswith("unterminated string literal")
    assert error.loc.col == 3


def test_backslash_at_end_of_string_line_is_unterminated() -> None:
    error = lex_error('"abc\\\n"')
    assert error.message.startswith("unterminated string literal")
    assert (error.loc.line, error.loc.col) == (1, 1)


# -- identifiers and keywords ----------------------------------------------------


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_keywords(word: str) -> None:
    assert kinds_texts(word) == [(TokenKind.KEYWORD, word)]


def test_keyword_list_is_the_spec_list() -> None:
    assert KEYWORDS == set(
        "fn let learn optimize until minimize with return if else while tensor alloc "
        "realloc free batch in as load_csv save_csv load_safetensors save_safetensors".split()
    )


@pytest.mark.parametrize(
    "word",
    [
        "init",
        "reset_optimizer",
        "zeros",
        "normal",
        "print",
        "f64",
        "_x",
        "x_1",
        "letx",
        "fn2",
        "In",
    ],
)
def test_contextual_and_ordinary_words_are_identifiers(word: str) -> None:
    assert kinds_texts(word) == [(TokenKind.IDENT, word)]


def test_identifier_stops_at_non_identifier_characters() -> None:
    assert kinds_texts("a1+b_2") == [
        (TokenKind.IDENT, "a1"),
        (TokenKind.SYMBOL, "+"),
        (TokenKind.IDENT, "b_2"),
    ]


# -- operators -------------------------------------------------------------------


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_symbol(symbol: str) -> None:
    assert kinds_texts(symbol) == [(TokenKind.SYMBOL, symbol)]


def test_longest_match_for_operators() -> None:
    assert [t.text for t in lex("a**b<=c>=d==e!=f&&g||h")[:-1]] == [
        "a", "**", "b", "<=", "c", ">=", "d", "==", "e", "!=", "f", "&&", "g", "||", "h",
    ]  # fmt: skip


def test_adjacent_operators_split_greedily() -> None:
    assert [t.text for t in lex("***!==")[:-1]] == ["**", "*", "!=", "="]


def test_caret_and_bang() -> None:
    assert [t.text for t in lex("!a ^ b")[:-1]] == ["!", "a", "^", "b"]


# -- unexpected characters -------------------------------------------------------


def test_unexpected_character_message_and_location() -> None:
    error = lex_error("fn main() {\n  let x = 1 @ 2;\n}")
    assert error.message == "unexpected character '@'"
    assert (error.loc.line, error.loc.col) == (2, 13)
    assert error.render("fn main() {\n  let x = 1 @ 2;\n}") == (
        "t.noma:2:13: error: unexpected character '@'\n      let x = 1 @ 2;\n                ^"
    )


@pytest.mark.parametrize("char", ["@", "#", "$", "~", "?", "`", "'", "é", "λ"])
def test_unexpected_characters(char: str) -> None:
    assert lex_error(f"a {char}").message == f"unexpected character '{char}'"


@pytest.mark.parametrize("char, hint", [("|", "||"), ("&", "&&")])
def test_single_bar_and_ampersand_get_a_hint(char: str, hint: str) -> None:
    error = lex_error(f"a {char} b")
    assert error.message == f"unexpected character '{char}' (did you mean '{hint}'?)"
    assert error.loc.col == 3


@pytest.mark.parametrize(
    "char, shown", [("\x00", "U+0000"), ("\u00a0", "U+00A0"), ("\x1c", "U+001C")]
)
def test_invisible_unexpected_characters_are_shown_as_code_points(char: str, shown: str) -> None:
    assert lex_error(f"a {char}").message == f"unexpected character {shown}"


# -- token descriptions used by parser messages ----------------------------------


@pytest.mark.parametrize(
    "source, description",
    [
        (";", "';'"),
        ("let", "keyword 'let'"),
        ("x", "identifier 'x'"),
        ("42", "number 42"),
        ('"hi"', 'string "hi"'),
        ('"a very long string literal indeed"', 'string "a very long string ..."'),
    ],
)
def test_token_descriptions(source: str, description: str) -> None:
    assert lex(source)[0].describe() == description


def test_eof_description() -> None:
    assert lex("")[0].describe() == "end of file"
