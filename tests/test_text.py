import time

import pytest

from monitor.text import (
    MAX_SPELLINGS,
    clean_line,
    clean_prose,
    clean_prose_line,
    clean_text,
    closest,
    codec_name,
    index_spellings,
    refolded,
    unmixed_alphabets,
    word_spans,
)


def test_clean_text_removes_nul_controls_and_bidi_but_keeps_layout() -> None:
    assert clean_text("a\x00b\x01c\x1b[31md\u202ee\tf\ng") == "abc[31mde\tf\ng"


def test_control_line_breaks_become_line_feeds_so_words_stay_apart() -> None:
    # Vertical tab, form feed and NEL (U+0085) break lines: removed, they joined two words.
    assert clean_text("Gaza\x0cceasefire\x0btalks\x85Doha") == "Gaza\nceasefire\ntalks\nDoha"
    assert clean_line("Gaza\x85ceasefire") == "Gaza ceasefire"


def test_clean_line_folds_line_breaks_so_a_title_cannot_add_a_header() -> None:
    assert clean_line("Title\r\nBcc: x@evil") == "Title Bcc: x@evil"


def test_lone_surrogates_become_replacement_characters() -> None:
    from monitor.text import clean_line, clean_text

    assert clean_text("a\ud83db\udc00") == "a\ufffdb\ufffd"
    assert clean_text("\U0001f600") == "\U0001f600"  # a real astral character is kept
    assert clean_line("t\ud83d\x00") == "t\ufffd"


def test_soft_hyphens_go_so_a_hyphenated_word_stays_one_word() -> None:
    from monitor.models import Document
    from monitor.rules import Rule, RuleBook, tokenize
    from monitor.rules.matcher import compile_rules

    text = "Die Waffen\u00adruhe in Gaza; gen\u00adcatan sen\u00adjata"
    assert clean_text(text) == "Die Waffenruhe in Gaza; gencatan senjata"
    assert tokenize(clean_text(text)) == ["die", "waffenruhe", "in", "gaza", "gencatan",
                                          "senjata"]
    matcher = compile_rules(RuleBook(rules=(Rule.from_query("w", '"gencatan senjata"'),)))
    assert [h.rule_id for h in matcher.match(Document("", clean_text(text)))] == ["w"]
    assert clean_line("Waffen\u00adruhe") == "Waffenruhe"


def test_zero_width_spaces_and_word_joiners_inside_a_word_go() -> None:
    # A line-break hint some sites put in long words, and a word joiner: invisible, and left
    # in they would cut the word in two ("ga" "za"), as a soft hyphen would.
    assert clean_text("Ga\u200bza, Qa\u2060tar, Пере\u200b\u200bговоры, 2\u200b025") == (
        "Gaza, Qatar, Переговоры, 2025")
    assert clean_line("Waffen\u2060ruhe") == "Waffenruhe"
    # Between words or beside punctuation it changes nothing and stays (delivery's mention
    # defusing writes "@\u200beveryone" after cleaning, and cleaning again keeps it).
    for kept in ("Gaza\u200b ceasefire", "@\u200beveryone", "=\u200b?", "Gaza\u200b"):
        assert clean_text(kept) == kept
    # In the scripts written without spaces it marks where a word ends: kept.
    for unspaced in ("ข่าว\u200bการเมือง", "中国\u200b人", "ニュース\u200bです",
                     "ខ្មែរ\u200bភាសា", "Gaza\u200bข่าว"):
        assert clean_text(unspaced) == unspaced


def test_a_word_mixing_latin_and_cyrillic_twins_is_written_in_one_alphabet() -> None:
    # Ukrainian typed on a Russian layout (a Latin i or ï for і and ї), a layout slip (a Latin
    # y in Путин, a Cyrillic а in Gaza), capitals: the letters of the other alphabet all have
    # a twin, so the word is written in its own.
    assert unmixed_alphabets("Вiткофф i Пyтин, Kиïв; ВIТКОФФ: Gаza cеasefire") == (
        "Віткофф i Путин, Київ; ВІТКОФФ: Gaza ceasefire")
    # After a vowel Ukrainian writes ї, not і: a Latin i there is ї.
    assert unmixed_alphabets("Украiна, УКРАIНА, Киiв, соцiальний") == (
        "Україна, УКРАЇНА, Київ, соціальний")
    assert clean_prose("Пере\u00adговоры с Уиткоффoм") == "Переговоры с Уиткоффом"
    assert clean_prose_line("Пyтин\nи Уиткофф") == "Путин и Уиткофф"
    # Left as written: a letter without a twin on each side (a brand, a model), a tie, words
    # of one alphabet side by side, and what cleaning is not for (clean_text: URLs, keys).
    for kept in ("Яndex", "iPhone-ом", "рa", "Путин and Trump", "Путин,Trump", "Су-35С",
                 "plain English", "Ёлка", "Пyтинs"):
        assert unmixed_alphabets(kept) == kept, kept
    assert clean_text("https://news.example/Украiна") == "https://news.example/Украiна"


def test_unmixing_alphabets_is_linear_in_a_hostile_text() -> None:
    # One word of a million letters, and a million letters before a mixed word: each letter
    # is looked at a bounded number of times (a backtracking pattern would take hours).
    for text in ("aа" * 500_000, "а" * 1_000_000 + "a", "Вiткофф " * 125_000):
        started = time.process_time()
        assert len(unmixed_alphabets(text)) == len(text)
        assert time.process_time() - started < 5


def test_a_rule_pasted_with_an_invisible_character_inside_a_word_matches_the_word() -> None:
    # A word copied from a web page may carry a soft hyphen, a zero-width space, a word joiner
    # or a byte-order mark: the rule's words and aliases are cleaned as article text is.
    from monitor.models import Document
    from monitor.rules import Alias, Entity, Rule, RuleBook
    from monitor.rules.matcher import compile_rules

    for mark in ("\u00ad", "\u200b", "\u2060", "\ufeff"):
        book = RuleBook(rules=(Rule.from_query("q", f'"gen{mark}catan senjata" AND @qatar'),),
                        entities=(Entity("qatar", (Alias(f"Qa{mark}tar"),)),))
        matcher = compile_rules(book)
        for text in ("Qatar: gencatan senjata", f"Qa{mark}tar: gen{mark}catan senjata"):
            hits = matcher.match(Document("", clean_text(text)))
            assert [h.rule_id for h in hits] == ["q"], (mark, text)


def test_arabic_vowel_marks_and_tatweel_go_so_a_vowelled_word_stays_one_word() -> None:
    from monitor.models import Document
    from monitor.rules import Alias, Entity, Rule, RuleBook, tokenize
    from monitor.rules.matcher import compile_rules

    vowelled = "مُحَمَّد بن سَلْمَان في غــزّة، أيضاً"
    # SQLite's tokenizer, which the matcher follows, ends a word at each haraka.
    assert tokenize(vowelled)[:4] == ["م", "ح", "م", "د"]
    assert clean_text(vowelled) == "محمد بن سلمان في غزة، أيضا"
    assert tokenize(clean_text(vowelled)) == ["محمد", "بن", "سلمان", "في", "غزة", "ايضا"]
    # Hamza and madda forms are letters, not marks: kept (إ, أ, آ).
    assert clean_text("إسرائيل أو آسيا") == "إسرائيل أو آسيا"
    # A rule written with the marks finds the text written with or without them.
    book = RuleBook(rules=(Rule.from_query("q", "مُحَمَّد AND @gaza"),),
                    entities=(Entity("gaza", (Alias("غَزَّة"),)),))
    matcher = compile_rules(book)
    for text in (vowelled, "محمد بن سلمان في غزة"):
        assert [h.rule_id for h in matcher.match(Document("", clean_text(text)))] == ["q"]
    assert Alias("غَزَّة").tokens == ("غزة",)


def test_text_is_composed_so_a_separate_hamza_mark_stays_in_its_word() -> None:
    from monitor.models import Document
    from monitor.rules import Alias, Rule, RuleBook, tokenize
    from monitor.rules.matcher import compile_rules

    # Alef + hamza above (U+0654) and alef + madda (U+0653), as some sources write them:
    # SQLite's tokenizer ends a word at the mark, as at a haraka.
    decomposed = "\u0627\u0654\u062d\u0645\u062f \u0627\u0653\u0633\u064a\u0627"
    assert tokenize(decomposed) == ["ا", "حمد", "ا", "سيا"]
    assert clean_text(decomposed) == "أحمد آسيا"
    assert clean_text("Erdog\u0306an") == "Erdoğan"
    # A rule written either way finds the text written either way.
    for query in ("أحمد", "\u0627\u0654\u062d\u0645\u062f"):
        matcher = compile_rules(RuleBook(rules=(Rule.from_query("q", query),)))
        for text in (decomposed, "أحمد آسيا"):
            assert [h.rule_id for h in matcher.match(Document("", clean_text(text)))] == ["q"]
    assert Alias(decomposed).tokens == ("احمد", "اسيا")  # (the matcher takes أ and آ as ا)
    # A tatweel between the letter and its mark: removed first, so the two still compose.
    stretched = "\u0627\u0640\u0654\u062d\u0645\u062f"
    assert clean_text(stretched) == "أحمد" and Alias(stretched).tokens == ("احمد",)


def test_closest_names_the_likeliest_typo_fix_or_nothing() -> None:
    assert closest("gaza-cesefire", ["gaza-ceasefire", "ukraine-peace"]) == "gaza-ceasefire"
    assert closest("NAER", ("NEAR", "SENTENCE")) == "NEAR"
    assert closest("weather", ["gaza-ceasefire", "ukraine-peace"]) is None
    assert closest("intervall", {"interval": 1, "timeout": 2}) == "interval"  # a mapping's keys
    assert closest("nerar", ["near"], cutoff=0.95) is None  # the configuration asks more


def test_codec_name_reads_a_declared_label_or_says_none() -> None:
    assert codec_name(" UTF8 ") == "utf-8"
    assert codec_name("latin1") == "iso8859-1"
    assert codec_name("x-no-such") is None
    assert codec_name("utf\x008") is None  # a NUL in the label: no codec, no ValueError


def _marked(text: str, words: list[str]) -> list[str]:
    return [text[start:end] for start, end, _word in word_spans(text, words)]


@pytest.mark.parametrize(("text", "words", "marked"), [
    # Whole words only: "as" inside Indonesian words is not Amerika Serikat.
    ("Pejabat AS membahas rencana damai pasca pertemuan kelas atas", ["AS"], ["AS"]),
    # A word in capitals is marked in capitals only; "let us" is not the US.
    ("Let us focus: the US and the U.S. talk", ["US", "U.S."], ["US", "U.S."]),
    ("ceasefire talks; Ceasefire holds; CEASEFIRE", ["ceasefire"],
     ["ceasefire", "Ceasefire", "CEASEFIRE"]),
    # The longer word wins where two start together; a longer word is not half-marked.
    ("Gaza ceasefire, Gaza ceasefires", ["Gaza", "Gaza ceasefire"], ["Gaza ceasefire", "Gaza"]),
    ("Israel's envoy; Israeli envoy", ["Israel"], ["Israel"]),
    ("Переговоры о мирном плане Путина", ["Путина", "мирном плане"], ["мирном плане", "Путина"]),
    ("وقف إطلاق النار في غزة وحماس", ["غزة", "وحماس"], ["غزة", "وحماس"]),
    ("Die STRASSE", ["Straße"], ["STRASSE"]),  # folded: ß is ss
    ("Gaza2 Gazastan xGaza Gaza", ["Gaza"], ["Gaza"]),  # letters and digits continue a word
    ("Tokyo_Gaza", ["Gaza"], ["Gaza"]),  # "_" does not, for the tokenizer either
    ("nothing here", ["", " "], []),
])
def test_word_spans_mark_whole_words_and_capitals_as_written(
        text: str, words: list[str], marked: list[str]) -> None:
    assert _marked(text, words) == marked


def test_word_spans_name_the_word_each_span_stands_for() -> None:
    spans = word_spans("Qatar; QATAR; Straße", ["qatar", "Strasse"])
    assert [w for _s, _e, w in spans] == ["qatar", "qatar", "Strasse"]


def test_word_spans_mark_a_regex_match_even_inside_a_word() -> None:
    text = "Ceasefires hold; a cease-fire"
    assert [text[a:b] for a, b, _w in word_spans(text, [], ["cease"])] == ["Cease", "cease"]
    assert word_spans(text, ["cease"]) == [(19, 24, "cease")]  # a word: only whole


def test_index_spellings_of_folded_letters_and_their_inverse() -> None:
    """What SQLite's index may hold for a word the matcher folds: ё for up to two е, ى for a
    last ي, Arabic-Indic and Persian digits, أ, إ and آ for each ا; each folds back to the
    word."""
    assert index_spellings("gaza") == ["gaza"]
    assert index_spellings("петр") == ["петр", "пётр"]
    assert len(index_spellings("переселение") or []) == 1 + 5 + 10  # two ё at most
    assert index_spellings("مريكي") == ["مريكي", "مريكى"]
    assert index_spellings("28") == ["28", "\u0662\u0668", "\u06f2\u06f8"]
    assert index_spellings("امم") == ["امم", "أمم", "إمم", "آمم"]
    assert len(index_spellings("الامريكي") or []) == 4 * 4 * 2
    assert {"الأمريكي", "الأمريكى", "الامريكى"} <= set(index_spellings("الامريكي") or [])
    assert len(index_spellings("الانتخابات") or []) == 4 ** 4 == MAX_SPELLINGS  # four alefs
    assert index_spellings("والانتخاباتا") is None  # five: not narrowed
    # An apostrophe inside a Ukrainian word: SQLite cut the word at ' and ’ (a quoted FTS5
    # string of two words is a phrase), and keeps ʼ as a letter.
    assert index_spellings("обʼєкт") == ["обʼєкт", "об єкт"]
    spellings = index_spellings("перемирʼя") or []
    assert len(spellings) == 4 * 2 and {"перемир я", "пёремирʼя", "пёрёмир я"} <= set(spellings)
    assert index_spellings("ʼ") == ["ʼ"]
    for word in ("петр", "переселение", "الامريكي", "28", "x2ее", "28ا"):
        assert {refolded(s) for s in index_spellings(word) or []} == {word}


def test_a_word_of_a_thousand_ye_is_not_spelt_out() -> None:
    """A search is anyone's query: a word of many е's would make C(n, 2) spellings of n
    letters (a thousand: half a million, half a gigabyte). They are counted first."""
    assert len(index_spellings("е" * 22) or []) == 254 <= MAX_SPELLINGS
    assert index_spellings("е" * 23) is None
    assert index_spellings("е" * 100_000) is None
