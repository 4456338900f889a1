"""The matcher: presearch never loses a match, evidence, options, limits, threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import QuerySyntaxError, RuleError
from monitor.models import Document
from monitor.rules import Alias, Entity, Rule, RuleBook, parse_query
from monitor.rules.docindex import PLAIN, DocIndex
from monitor.rules.matcher import Matcher, compile_rules
from monitor.rules.nodes import Found, Leaf, Node
from monitor.rules.plan import Compiler
from monitor.rules.regex import MAX_INPUT_BYTES
from monitor.rules.unicode61 import tokenize
from tests.match_support import reference_match

ENTITIES = (
    Entity("us", (Alias("Amerika Serikat"), Alias("United States"),
                  Alias("AS", case_sensitive=True))),
    Entity("qatar", (Alias("Qatar"), Alias("Katar"), Alias("قطر"))),
    Entity("putin", (Alias("Putin"), Alias("Путин"), Alias("Vladimir Putin"))),
    # Inflected aliases: a prefix, a case-sensitive prefix, a stemmed alias, a stemmed entity.
    Entity("putin2", (Alias("Путин*"), Alias("Vlad*", case_sensitive=True),
                      Alias("мирный план", stem=True), Alias("Putin", stem=False),
                      Alias("мирн* план*"))),
    Entity("talks", (Alias("переговоры"), Alias("talk")), stem=True),
)


def book_of(*rules: Rule) -> RuleBook:
    return RuleBook(rules=rules, entities=ENTITIES)


def rule(query: str, rule_id: str = "r", *, name: str | None = None,
         notify: tuple[str, ...] = (), languages: tuple[str, ...] = (), stem: bool = False,
         regex: tuple[str, ...] = (), proclitics: bool = False) -> Rule:
    return Rule.from_query(rule_id, query, name=name, notify=notify, languages=languages,
                           stem=stem, regex=regex, proclitics=proclitics)


# -- presearch property ----------------------------------------------------------------------

VOCAB = ["gaza", "Gaza", "ceasefire", "negosiasi", "negosiasinya", "bernegosiasi", "talks",
         "talked", "Qatar", "katar", "AS", "as", "As", "Amerika", "Serikat", "United", "States",
         "Putin", "путин", "Vladimir", "Erdoğan", "erdogan", "peace", "plan", "a", "b", "c",
         "Путине", "Путиным", "мирном", "плане", "мирный", "план", "переговорах", "vladi"]
QUERY_WORDS = ["gaza", "ceasefire", "negosiasi", "talks", "qatar", "as", "AS", "amerika",
               "serikat", "putin", "путин", "vladimir", "erdogan", "peace", "plan", "a", "b",
               "\"amerika serikat\"", "\"peace plan\"", "\"a b\"", "neg*", "pe*", "\"a b\"*",
               "@us", "@qatar", "@putin", "^gaza", "^@us", "@putin2", "@talks", "переговоры",
               "\"мирный план\"", "\"peace plan talks\"", "\"plan peace\""]


def _query(depth: int) -> st.SearchStrategy[str]:
    word = st.sampled_from(QUERY_WORDS)
    near_item = st.sampled_from([w for w in QUERY_WORDS if not w.startswith("^")])
    near = st.builds(lambda items, d: f"NEAR({' '.join(items)}{d})" if d != "S"
                     else f"SENTENCE({' '.join(items)})",
                     st.lists(near_item, min_size=1, max_size=3),
                     st.sampled_from(["", ", 0", ", 1", ", 3", "S"]))
    spec = st.sampled_from(["", "", "", "title:", "body:", "-title:"])
    cnear = st.builds(lambda s, w: s + w, spec, st.one_of(word, word, near))
    leaf = st.builds(" ".join, st.lists(cnear, min_size=1, max_size=2)) if depth else cnear
    if depth == 0:
        return leaf
    sub = _query(depth - 1)
    binary = st.builds(lambda a, op, b: f"({a}) {op} ({b})", sub,
                       st.sampled_from(["AND", "OR", "OR", "NOT"]), sub)
    return st.one_of(leaf, binary, st.builds(lambda s: f"title:({s})", sub))


def _parses(query: str) -> bool:
    try:
        parse_query(query)
    except QuerySyntaxError:  # e.g. title:(body:x), which leaves no field
        return False
    return True


_rule_strategy = st.builds(
    lambda q, stem, langs: (q, stem, langs),
    _query(2).filter(_parses), st.booleans(),
    st.sampled_from([(), ("id",), ("en",), ("id", "en"), ("ru", "uk"), ("en", "ru")]))
_field = st.lists(st.sampled_from([*VOCAB, "Dr.", "U.S.", "end. The", "x! y", "3.5", "\n"]),
                  min_size=4, max_size=30).map(" ".join)
_doc = st.builds(Document, title=_field, body=_field,
                 language=st.sampled_from([None, "id", "en", "fr", "en-US", "ru", "uk"]))


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(_rule_strategy, min_size=1, max_size=6), doc=_doc)
def test_presearch_never_loses_or_invents_a_match(
        rules: list[tuple[str, bool, tuple[str, ...]]], doc: Document) -> None:
    """Random rules (entities, stems, NEAR, filters, NOT) against brute-force evaluation;
    ``matching`` (ids without evidence: what backtests count) names the same rules."""
    book = book_of(*(rule(q, f"r{i}", stem=stem, languages=langs)
                     for i, (q, stem, langs) in enumerate(rules)))
    matcher = compile_rules(book)
    got = [hit.rule_id for hit in matcher.match(doc)]
    expected = {r.id for r in book.rules if reference_match(r, book, doc)}
    assert set(got) == expected
    assert matcher.matching(doc) == got


_flat_rule = st.builds(
    lambda words, stem: (" AND ".join(words), stem),
    st.lists(st.sampled_from([w for w in QUERY_WORDS if "@" not in w and "^" not in w]),
             min_size=1, max_size=3),
    st.booleans())


@settings(derandomize=True, max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.one_of(_flat_rule, _rule_strategy.map(lambda r: r[:2])),
                      min_size=1, max_size=8), doc=_doc)
def test_the_fast_path_of_plain_and_rules_gives_the_same_hits_and_evidence(
        rules: list[tuple[str, bool]], doc: Document) -> None:
    """The shortcuts (``Program.flat``, an AND of plain terms: no tree walk; a simple leaf's
    evidence from its shared ``Leaf.shown``) against the general evaluation of the same
    programs, which walks the tree and collects each leaf's first place in every field for
    ``select`` to choose from."""
    book = book_of(*(rule(q, f"r{i}", stem=stem) for i, (q, stem) in enumerate(rules)))
    fast = compile_rules(book)
    compiler = Compiler({e.id: e for e in book.entities})
    programs = [replace(compiler.program(i, r), flat=None) for i, r in enumerate(book.rules)]
    general = Matcher(programs, compiler.keys, compiler.stem_keys)
    with patch.object(Leaf, "gather", _gather_every_field):
        expected = general.match(doc)
    assert fast.match(doc) == expected


def _gather_every_field(leaf: Leaf, doc: DocIndex, out: list[Found]) -> bool:
    """``Leaf.gather`` without the ``shown`` shortcut: the first place in each field."""
    pattern = leaf.pattern
    mark = len(out)
    for field in leaf.fields:
        if pattern.simple:
            key = pattern.modes[doc.mode][0].key
            places = doc.starts(field, key, 1) if key in doc.found[field] else []
        else:
            places = doc.positions(pattern, field)[:1]
        out.extend((leaf, field, place, pattern.length) for place in places)
    return len(out) > mark


@settings(derandomize=True, max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(_rule_strategy, min_size=1, max_size=6), doc=_doc)
def test_gathering_evidence_decides_as_the_test_and_adds_nothing_on_a_miss(
        rules: list[tuple[str, bool, tuple[str, ...]]], doc: Document) -> None:
    """``Node.gather`` (test and evidence in one walk) answers as ``Node.test`` for every
    node of random rules, never touches what ``out`` held, and appends only when it matches
    (and then places in the document)."""
    book = book_of(*(rule(q, f"r{i}", stem=stem, languages=langs)
                     for i, (q, stem, langs) in enumerate(rules)))
    compiler = Compiler({e.id: e for e in book.entities})
    programs = [compiler.program(i, r) for i, r in enumerate(book.rules)]
    index = Matcher(programs, compiler.keys, compiler.stem_keys).index(doc)
    for program in programs:
        for node in _nodes(program.root):
            out: list[Found] = [sentinel := (node, -1, -1, -1)]  # type: ignore[list-item]
            assert node.gather(index, out) == node.test(index), program.rule.query
            assert out[0] is sentinel
            if len(out) == 1:
                continue
            assert node.test(index)
            for _leaf, field, start, count in out[1:]:
                assert field in (0, 1) and start >= 0 and count >= 1


def _nodes(node: Node) -> list[Node]:
    """``node`` and every node under it."""
    below = [*getattr(node, "children", ()), *getattr(node, "leaves", ()),
             *(leaf for slot in getattr(node, "slots", ()) for leaf in slot),
             *(getattr(node, name) for name in ("left", "right") if hasattr(node, name))]
    return [node, *(n for child in below for n in _nodes(child))]


def test_the_fast_path_serves_plain_and_rules() -> None:
    compiler = Compiler({e.id: e for e in ENTITIES})
    assert compiler.program(0, rule("gaza AND ceasefire")).flat is not None
    assert compiler.program(1, rule("gaza ceasefire talks")).flat is not None
    assert compiler.program(2, rule("gaza")).flat is not None
    # A phrase or a prefix is one automaton key too.
    assert compiler.program(2, rule('"peace plan" AND neg* AND gaza')).flat is not None
    for query in ("title:gaza AND talks", "gaza AND gaza", "@qatar AND gaza", "gaza OR talks",
                  "^gaza AND talks", "NEAR(gaza talks)", "gaza NOT talks"):
        assert compiler.program(3, rule(query)).flat is None, query
    assert compiler.program(4, rule("gaza AND talks", stem=True)).flat is None
    assert compiler.program(5, rule("gaza AND talks", languages=("en",))).flat is None
    assert compiler.program(6, rule("gaza AND talks", regex=("cease",))).flat is None


# -- evidence and options --------------------------------------------------------------------

def test_a_hit_carries_evidence_with_offsets_snippet_and_entity() -> None:
    doc = Document(title="Gencatan senjata di Gaza, kata Qatar",
                   body="Qatar dan Mesir mendesak gencatan senjata. " * 3, language="id")
    matcher = compile_rules(book_of(rule('("gencatan senjata" OR ceasefire) AND @qatar',
                                         "gaza", name="Gaza", notify=("chat",))))
    [hit] = matcher.match(doc)
    assert (hit.rule_id, hit.rule_name, hit.notify) == ("gaza", "Gaza", ("chat",))
    # One occurrence per term, in query order; the body's first (alerts show the title).
    assert [(e.term, e.field, e.matched, e.entity) for e in hit.evidence] == [
        ('"gencatan senjata"', "body", "gencatan senjata", None),
        ("@qatar", "body", "Qatar", "qatar")]
    for e in hit.evidence:
        assert doc.body[e.start:e.end] == e.matched
    assert hit.evidence[1].start == 0
    snippet = hit.evidence[0].snippet
    assert snippet.startswith("Qatar dan Mesir mendesak gencatan senjata.") and snippet[-1] == "…"


def test_evidence_offsets_hold_deep_in_a_long_article_with_many_hits() -> None:
    # Past the first kilobyte, token positions resume from remembered space counts
    # (DocIndex._spaces_before); every hit's evidence must still point at its first place.
    words = [f"w{i:03d}x" for i in range(300)]
    body = " ".join(f"Kalimat {n}, {w}: negosiasinya." for n, w in enumerate(words * 2))
    rules = [rule(f"{w} AND kalimat", f"r{i}") for i, w in enumerate(words)]
    rules += [rule(f"NEAR({w} negosiasi, 2)", f"n{i}", stem=True)
              for i, w in enumerate(words[::7])]
    doc = Document(title="", body=body, language="id")
    hits = {h.rule_id: h for h in compile_rules(book_of(*rules)).match(doc)}
    assert len(hits) == len(rules)
    for hit in hits.values():
        word = hit.evidence[0]  # the rule's w... term: its first place
        assert (word.start, body[word.start:word.end]) == (body.index(word.matched), word.matched)
        for e in hit.evidence[1:]:  # then "kalimat" or "negosiasinya"
            assert body[e.start:e.end] == e.matched, (hit.rule_id, e)
            if e.term == "negosiasi":  # NEAR's window: the one right before or after
                around = {body.index("negosiasinya", word.start),
                          body.rfind("negosiasinya", 0, word.start)}
                assert e.start in around, (hit.rule_id, e)
            else:  # AND: the first in the article
                assert e.start == body.index(e.matched), (hit.rule_id, e)
    assert len(body) > 10_000
    index = compile_rules(book_of(rule("kalimat"))).index(doc)
    stream = f" {' '.join(tokenize(body))} "
    assert [index._spaces_before(1, PLAIN, at) for at in range(len(stream))] == [
        stream.count(" ", 0, at) for at in range(len(stream))]


def test_title_evidence_when_the_body_lacks_the_term() -> None:
    doc = Document(title="Ceasefire in Gaza", body="Talks resumed in Katar.")
    [hit] = compile_rules(book_of(rule("ceasefire AND @qatar"))).match(doc)
    assert [(e.term, e.field, e.start, e.end, e.snippet) for e in hit.evidence] == [
        ("ceasefire", "title", 0, 9, "Ceasefire in Gaza"),
        ("@qatar", "body", 17, 22, "Talks resumed in Katar.")]


def test_case_sensitive_alias_matches_as_but_not_the_english_word_as() -> None:
    matcher = compile_rules(book_of(rule("@us AND Rusia")))
    assert matcher.match(Document("AS dan Rusia gelar negosiasi", ""))
    assert not matcher.match(Document("Rusia as seen from afar", ""))
    assert not matcher.match(Document("As Rusia", ""))
    assert matcher.match(Document("Amerika Serikat dan Rusia", ""))
    assert matcher.match(Document("ÀS dan Rusia", ""))  # still diacritic-insensitive


def test_a_case_sensitive_alias_written_in_capitals_matches_in_capitals() -> None:
    # An all-caps headline or flash writes "Газе" (in Gaza) as "ГАЗЕ": still not "газе" (gas).
    gaza = Entity("gaza", (Alias("Газе", case_sensitive=True),
                           Alias("Vlad*", case_sensitive=True)))
    matcher = compile_rules(RuleBook(rules=(rule("@gaza"),), entities=(gaza,)))
    assert matcher.match(Document("ПЕРЕМИРИЕ В ГАЗЕ", ""))
    assert matcher.match(Document("", "перемирие в Газе"))
    assert not matcher.match(Document("", "цены на газе"))
    assert not matcher.match(Document("", "ГАзе"))  # neither as written nor in capitals
    assert matcher.match(Document("VLADIVOSTOK TALKS", ""))  # a prefix too
    assert not matcher.match(Document("", "vladivostok"))
    # An alias written in capitals is unchanged: "AS" is still not "As" or "as".
    us = compile_rules(book_of(rule("@us AND Rusia")))
    assert us.match(Document("AS DAN RUSIA", "")) and not us.match(Document("As Rusia", ""))


def test_title_filter_and_phrases_never_span_title_and_body() -> None:
    matcher = compile_rules(book_of(rule("title:gaza", "t"), rule('"gaza ceasefire"', "p"),
                                    rule("NEAR(gaza ceasefire, 2)", "n")))
    hits = {h.rule_id for h in matcher.match(Document("News from Gaza", "ceasefire holds"))}
    assert hits == {"t"}
    hits = {h.rule_id for h in matcher.match(Document("News", "Gaza ceasefire holds"))}
    assert hits == {"p", "n"}


def test_languages_filter_trusts_declared_and_detects_otherwise() -> None:
    matcher = compile_rules(book_of(rule("gaza", "id-only", languages=("id",))))
    assert matcher.match(Document("Gaza", "", language="id-ID"))
    assert not matcher.match(Document("Gaza", "", language="en"))
    indonesian = "Pasukan Israel menyerang Gaza meskipun gencatan senjata telah disepakati."
    english = "Israeli forces struck Gaza although a ceasefire had been agreed by both sides."
    assert matcher.match(Document(indonesian, ""))
    assert not matcher.match(Document(english, ""))


def test_an_article_declared_in_a_language_of_another_script_is_matched_in_its_own() -> None:
    # A Russian outlet's CMS declares every page "en-US": the rule for Russian articles still
    # sees this one, and stems it in Russian ("переговорах" is a form of "переговоры").
    matcher = compile_rules(book_of(rule("переговоры AND Украина", "ru", languages=("ru",),
                                         stem=True)))
    body = ("В Женеве прошёл новый раунд: на переговорах по Украине стороны обсудили "
            "мирный план из 28 пунктов.")
    [hit] = matcher.match(Document("Новости", body, language="en-US"))
    assert {e.matched for e in hit.evidence} == {"переговорах", "Украине"}
    assert not matcher.match(Document("Talks on Ukraine", "Negotiators met in Geneva "
                                      "to discuss a peace plan.", language="ru"))


def test_yo_and_ye_are_one_letter_whichever_the_rule_or_the_text_writes() -> None:
    """Most Russian texts write ё as е, some outlets always ё: a rule written either way
    finds both, as a word, a phrase, a prefix and a case-sensitive alias; evidence shows
    the text's own spelling."""
    book = RuleBook(rules=(rule('"освобожденных заложников"', "hostages"),
                           rule("Алёша", "alyosha"), rule("Горбач*", "prefix"),
                           rule("@fedorov", "fedorov")),
                    entities=(Entity("fedorov", (Alias("Федоров", case_sensitive=True),)),))
    matcher = compile_rules(book)

    def matched(text: str) -> dict[str, list[str]]:
        return {h.rule_id: [e.matched for e in h.evidence]
                for h in matcher.match(Document("", text, language="ru"))}

    assert matched("Число освобождённых заложников выросло. Алеша и Горбачёв.") == {
        "hostages": ["освобождённых заложников"], "alyosha": ["Алеша"],
        "prefix": ["Горбачёв"]}
    assert matched("ФЁДОРОВ и Фёдоров, но не фёдоров") == {"fedorov": ["ФЁДОРОВ"]}
    assert matched("фёдоров") == {}  # case-sensitive: the capital is still wanted
    assert matched("Алёша") == {"alyosha": ["Алёша"]}


def test_a_last_alef_maqsura_is_yeh_as_egyptian_print_writes_it() -> None:
    """Egyptian print writes a word's last ي as ى ("الأمريكى", "زيلينسكى"): a rule written
    either way finds both, stemmed or not."""
    book = RuleBook(rules=(rule("الأمريكي", "us"), rule("زيلينسكى", "zelensky"),
                           rule("الأمريكي", "stemmed", stem=True, languages=("ar",))))
    matcher = compile_rules(book)

    def matched(text: str) -> dict[str, list[str]]:
        return {h.rule_id: [e.matched for e in h.evidence]
                for h in matcher.match(Document("", text, language="ar"))}

    assert matched("التقى المبعوث الأمريكى بزيلينسكي ثم زيلينسكي") == {
        "us": ["الأمريكى"], "zelensky": ["زيلينسكي"], "stemmed": ["الأمريكى"]}
    assert matched("وقال مصدر للأمريكى") == {"stemmed": ["للأمريكى"]}


def test_an_alef_with_a_hamza_or_madda_is_a_bare_alef_as_many_texts_write_it() -> None:
    """Many Arabic texts leave out the hamza on alef ("اسرائيل" for "إسرائيل", "الامم" for
    "الأمم") and the madda ("الان" for "الآن"): a rule written either way finds both, stemmed
    or not, with proclitics too; evidence shows the text as written."""
    book = RuleBook(rules=(rule("إسرائيل", "israel"), rule('"الامم المتحدة"', "un"),
                           rule("الآن", "now"), rule("ألمانيا", "de", stem=True, languages=("ar",)),
                           rule("اسرائيل", "with", proclitics=True)))
    matcher = compile_rules(book)

    def matched(text: str) -> dict[str, list[str]]:
        return {h.rule_id: [e.matched for e in h.evidence]
                for h in matcher.match(Document("", text, language="ar"))}

    assert matched("قالت الأمم المتحدة الان إن اسرائيل والمانيا") == {
        "israel": ["اسرائيل"], "un": ["الأمم المتحدة"], "now": ["الان"], "de": ["والمانيا"],
        "with": ["اسرائيل"]}
    assert matched("قالت الامم المتحدة الآن إن إسرائيل وألمانيا وبإسرائيل") == {
        "israel": ["إسرائيل"], "un": ["الامم المتحدة"], "now": ["الآن"], "de": ["وألمانيا"],
        "with": ["إسرائيل"]}
    assert matched("وبإسرائيل") == {"with": ["وبإسرائيل"]}


def test_an_apostrophe_inside_a_ukrainian_word_is_one_letter_however_written() -> None:
    """Ukrainian texts write the apostrophe ', ’ or ʼ (U+02BC), and ` by mistake: the word is
    one word whichever a rule or a text writes, so stemming reaches its other cases (перемир'я
    finds the dative перемир’ю), and a case-sensitive alias compares it too. Russian names
    with an apostrophe before another letter (д'Артаньян) keep their two words."""
    from monitor.rules.model import Alias, Entity

    book = RuleBook(
        rules=(rule('"перемир\'я"', "truce"), rule('"перемир\'я"', "cases", stem=True,
                                                    languages=("uk",)),
               rule("Артаньян", "name"), rule("@uae", "uae")),
        entities=(Entity("uae", (Alias("Обʼєднані Арабські Емірати", case_sensitive=True),)),))
    matcher = compile_rules(book)

    def matched(text: str) -> dict[str, list[str]]:
        return {h.rule_id: [e.matched for e in h.evidence]
                for h in matcher.match(Document("", text, language="uk"))}

    for apostrophe in ("'", "’", "ʼ", "`"):
        assert matched(f"Умови перемир{apostrophe}я") == {
            "truce": [f"перемир{apostrophe}я"], "cases": [f"перемир{apostrophe}я"]}
        assert matched(f"Посли Об{apostrophe}єднані Арабські Емірати") == {
            "uae": [f"Об{apostrophe}єднані Арабські Емірати"]}
    assert matched("Про порушення перемир’ю та перемирʼям") == {
        "cases": ["перемир’ю"]}
    assert matched("Перемир я") == {}  # two words are not the word
    assert matched("об'єднані арабські емірати") == {}  # case-sensitive
    assert matched("Жанна д'Арк і д'Артаньян") == {"name": ["Артаньян"]}


def test_arabic_indic_and_persian_digits_are_the_ascii_ones() -> None:
    matcher = compile_rules(book_of(rule('"28 نقطة"', "plan"), rule("2025", "year")))
    for text in ("خطة من ٢٨ نقطة عام ٢٠٢٥", "خطة من ۲۸ نقطة عام ۲۰۲۵", "خطة من 28 نقطة عام 2025"):
        assert [h.rule_id for h in matcher.match(Document(text, "", language="ar"))] == [
            "plan", "year"], text
    [hit] = compile_rules(book_of(rule('"٢٨ نقطة"', "plan"))).match(Document("28 نقطة", ""))
    assert hit.evidence[0].matched == "28 نقطة"


def test_stemming_matches_inflected_indonesian_and_english_words() -> None:
    matcher = compile_rules(book_of(rule("negosiasi AND rencana", "s", stem=True),
                                    rule("negosiasi AND rencana", "exact")))
    doc = Document("Negosiasinya tentang rencananya berlanjut", "", language="id")
    assert [h.rule_id for h in matcher.match(doc)] == ["s"]
    english = compile_rules(book_of(rule('"peace talk"', "s", stem=True)))
    assert english.match(Document("Peace talks resume", "", language="en"))
    assert not english.match(Document("Peace talks resume", "", language="be"))  # no stemmer


def test_regex_condition_must_also_match_and_adds_evidence() -> None:
    matcher = compile_rules(book_of(rule("poin", "r", regex=(r"\b28[- ]poin\b",))))
    [hit] = matcher.match(Document("Rencana 28 poin", ""))
    assert hit.evidence[-1].term == r"/\b28[- ]poin\b/"
    assert hit.evidence[-1].matched == "28 poin"
    assert not matcher.match(Document("Rencana 12 poin", ""))


def test_sec_E4_catastrophic_pattern_runs_on_re2_over_a_megabyte() -> None:
    """E4: ``^(a+)+$`` on 1 MB of 'a' + '!': RE2 (linear), and the input is capped."""
    book = book_of(rule("a*", "e4", regex=(r"^(a+)+$",)))
    matcher = compile_rules(book)
    program = matcher._by_id["e4"]  # the compiled condition
    assert [r.engine for r in program.regexes] == ["re2"]
    # Under the cap the '!' is seen: no match, computed without backtracking.
    assert not matcher.match(Document("x", "a" * 100_000 + "!"))
    # Over the cap, conditions see the first 200 kB of the field only (documented limit).
    [hit] = matcher.match(Document("x", "a" * 1_000_000 + "!"))
    assert len(hit.evidence[-1].matched) == MAX_INPUT_BYTES


def test_sec_E6_ten_thousand_rules_against_one_article() -> None:
    """E6: 10,000 rules compile once and match one article; timing is in the benchmark."""
    rules = [rule(f"gaza AND kata{i}", f"miss{i}") for i in range(9_990)]
    rules += [rule(f'"gencatan senjata" OR kunci{i}', f"hit{i}") for i in range(10)]
    matcher = compile_rules(book_of(*rules))
    assert len(matcher.rule_ids) == 10_000
    hits = matcher.match(Document("Gaza", "Kesepakatan gencatan senjata di Gaza kata17"))
    assert sorted(h.rule_id for h in hits) == sorted(["miss17", *(f"hit{i}" for i in range(10))])


def test_concurrent_matches_from_threads_agree() -> None:
    matcher = compile_rules(book_of(rule("@us AND NEAR(negosiasi rahasia, 3)", "a"),
                                    rule("putin* OR @putin", "b", stem=True),
                                    rule("^AS", "c")))
    docs = [Document(f"AS dan Rusia gelar negosiasi rahasia {i}", "Putin " * (i % 3))
            for i in range(200)]
    expected = [[h.rule_id for h in matcher.match(d)] for d in docs]
    barrier = threading.Barrier(4)

    def run(part: int) -> list[list[str]]:
        barrier.wait()
        return [[h.rule_id for h in matcher.match(d)] for d in docs[part::4]]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    for part, result in enumerate(results):
        assert result == expected[part::4]


def test_rule_ids_match_rule_and_empty_books() -> None:
    matcher = compile_rules(book_of(rule("a", "one"), rule("b", "two")))
    assert matcher.rule_ids == ("one", "two")
    assert matcher.match_rule("two", Document("b", "")) is not None
    with pytest.raises(RuleError):
        matcher.match_rule("three", Document("b", ""))
    assert compile_rules(RuleBook()).match(Document("a", "b")) == []


def test_unknown_entity_in_a_hand_built_book_is_a_rule_error() -> None:
    with pytest.raises(RuleError, match="@nobody"):
        compile_rules(RuleBook(rules=(rule("@nobody"),)))
