"""Consent walls and interstitials: extracted text that is not the article.

Some sites answer a server-side fetch with a cookie consent wall (OneTrust, Didomi,
Quantcast/TCF, Sourcepoint, Google Funding Choices, a site's own "We use cookies" box) or a
bot check, "enable JavaScript" or subscription page instead of the article. trafilatura
extracts that text as the article: every page of the site then reads the same, its stories
merge into one (only the first alerts) and rules match the wall. :func:`find_wall` tells such
a text apart, so the page counts as not extracted and the feed's own summary stands in.

It must never cost a real article, so it is deliberately narrow. Only short texts are
candidates: a wall is a few paragraphs and buttons, and an article that quotes one at length
is long. The evidence is a small list of phrases the consent platforms and bot checks print
(button labels, the IAB TCF purpose names, "we and our partners", "legitimate interest", "are
you a robot") in English, Indonesian, Russian, German, French, Spanish and Arabic; words an
article about cookies or privacy would use ("cookies", "personal data", "consent") are not
phrases on their own. A text is a
wall when many different phrases make up a large share of its characters: a wall is dense with
them, while an article about a cookie-banner ruling that quotes "Accept all" and "Reject all"
is mostly its own narrative, and a short brief names a few (measured: see
``tests/extract/test_walls.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longer texts are never walls, and are not scanned at all (the sample walls extract to 385 to
# 1,114 characters; a third of the benchmark's real articles are shorter than this).
MAX_WALL_CHARS = 2500
# The share of a text's characters inside wall phrases from which it is a wall. The sample
# walls score 0.23 to 0.59; the sample articles about cookie rulings, privacy laws and robots
# 0 to 0.095, the benchmark's real articles 0.
MIN_PHRASE_SHARE = 0.16
# Six different phrases at least (the sample walls have 6 to 19): a news brief of 250 to 400
# characters on a fine, a ruling, an outage or a paywall names three to five of them (legitimate
# interest, right to object, Ray ID, "Alle ablehnen") and is as dense as a wall (0.17 to 0.34;
# tests/extract/data/briefs).
MIN_DISTINCT_PHRASES = 6
# ...unless the phrases are half the text: a bare banner ("We use cookies. Accept all. Reject
# all. Cookie settings") names few; the briefs never come near. A line or two quoted from a
# banner still never decide.
DENSE_SHARE = 0.45
MIN_DENSE_PHRASES = 3

# Written as ``str.casefold`` leaves text (the text is folded once, the patterns never need
# IGNORECASE: "ß" is "ss" here). Longer phrases come before their prefixes.
_CONSENT = (
    # English: OneTrust, Quantcast/InMobi, Sourcepoint, Funding Choices, Yahoo, sites' own.
    r"we use cookies", r"(?:this|our) (?:web)?site uses cookies",
    r"(?:we|us) (?:and|&) our (?:\d+ )?(?:third[- ]party |advertising )?(?:partners|vendors)",
    r"(?:accept|allow|reject|refuse|decline) all(?: cookies)?\b",
    r"(?:accept|agree|consent) (?:and|&) (?:continue|close|proceed)\b",
    r"continue without (?:accepting|agreeing)",
    r"(?:manage|customi[sz]e|change|update) (?:your |my )?(?:privacy |cookie |consent )?"
    r"(?:preferences|options|settings|choices)",
    r"(?:privacy|cookie)s? (?:& cookie |and cookie )?(?:policy|settings|preferences|notice|"
    r"dashboard|choices|centre|center)",
    r"(?:strictly )?necessary cookies", r"(?:cookies )?(?:and|or) (?:other )?similar technologies",
    r"(?:storing|use) of cookies on your device", r"enhance site navigation",
    r"analy[sz]e site usage", r"assist in our marketing efforts",
    r"we value your privacy", r"we care about your privacy",
    r"legitimate interests?", r"right to object",
    r"store and/or access information on a device",
    r"personali[sz]ed (?:ads|advertising) and content",
    r"(?:ad|advertising) and content (?:measurement|performance)",
    r"audience (?:insights|research)",
    r"precise geolocation data", r"identification through device scanning",
    r"(?:actively )?scan device characteristics for identification",
    r"unique identifiers", r"tcf vendor", r"transparency (?:&|and) consent framework",
    r"asks for your consent", r"(?:withdraw|change) (?:your |my )?consent",
    r"by clicking [\"'“‘]?(?:accept|agree|i agree|allow|ok)",
    r"do not sell or share my personal information", r"do not sell my personal information",
    # Indonesian.
    r"kami menggunakan cookie", r"situs (?:web )?ini menggunakan cookie",
    r"kami dan (?:\d+ )?mitra kami", r"(?:terima|izinkan|tolak) semua\b",
    r"(?:setuju|terima) dan lanjutkan",
    r"kelola (?:preferensi|opsi|pilihan|pengaturan)", r"pengaturan (?:cookie|privasi)",
    r"kebijakan (?:privasi|cookie)", r"kepentingan (?:yang )?sah",
    r"menyimpan dan/atau mengakses informasi (?:di|pada) perangkat",
    r"iklan dan konten yang dipersonalisasi", r"pengukuran iklan dan konten",
    r"riset audiens", r"vendor tcf", r"partner iklan",
    r"meminta (?:izin|persetujuan) anda", r"menarik (?:izin|persetujuan)",
    r"penggunaan cookie",
    # Russian.
    r"мы используем (?:файлы )?cookie", r"сайт использует (?:файлы )?cookie",
    r"мы и наши партн[её]ры", r"(?:принять|отклонить) вс[её]\b",
    r"продолжая (?:использовать сайт|пользоваться сайтом)",
    r"вы соглашаетесь с (?:использованием|условиями|политикой)",
    r"настро(?:йки|ить) (?:файлов )?cookie", r"настройки конфиденциальности",
    r"политик\w* (?:конфиденциальности|обработки персональных данных|"
    r"использования файлов cookie)",
    # Singular only: "защита законных интересов" is everyday legal language.
    r"законн(?:ый|ого|ым|ом) интерес", r"отозвать согласие",
    r"хранение и(?:/или)? доступ к информации на устройстве",
    r"персонализированн\w* реклам\w* и контент", r"оценка эффективности рекламы и контента",
    r"исследование аудитории", r"поставщик\w* tcf", r"рекламн\w* партн[её]р",
    # German.
    r"wir (?:verwenden|nutzen|setzen) cookies", r"(?:web)?seite (?:verwendet|nutzt) cookies",
    r"wir und unsere (?:\d+ )?(?:partner|drittanbieter)",
    r"alle (?:akzeptieren|ablehnen|zulassen)", r"(?:akzeptieren|zustimmen) und weiter",
    r"einstellungen (?:verwalten|anpassen)",
    r"(?:cookie|privatsphäre|datenschutz)-?einstellungen", r"datenschutzerklärung",
    r"berechtigte[ns]? interesse", r"einwilligung jederzeit",
    r"informationen auf einem gerät speichern und/oder abrufen",
    r"informationen auf ihrem gerät", r"personalisierte anzeigen und inhalte",
    r"anzeigen- und inhaltsmessung(?:en)?", r"erkenntnisse über zielgruppen",
    r"genaue standortdaten", r"geräteeigenschaften zur identifikation",
    r"pur-abo", r"werbefrei (?:lesen|weiterlesen)", r"mit werbung (?:weiter)?lesen",
    # Borlabs and Usercentrics defaults.
    r"einige von ihnen sind essenziell", r"ihre erfahrung zu verbessern",
    r"zustimmung zu freiwilligen diensten", r"erziehungsberechtigten um erlaubnis",
    r"auswahl jederzeit",
    # French.
    r"nous utilisons des cookies", r"ce site (?:web )?utilise des cookies",
    r"nous et nos (?:\d+ )?partenaires", r"nos partenaires et nous",
    r"tout (?:accepter|refuser)", r"accepter (?:et|&) (?:fermer|continuer)",
    r"continuer sans accepter",
    r"(?:gérer|personnaliser|paramétrer) (?:mes |vos )?(?:préférences|choix|options|cookies)",
    r"gestion des cookies", r"paramètres (?:des )?cookies",
    r"politique (?:de confidentialité|de cookies|relative aux cookies)",
    r"intérêt légitime", r"retirer votre consentement", r"avec votre accord",
    r"stocker et/ou accéder à des informations sur un appareil",
    r"publicités et contenu personnalisés",
    r"mesure de performance des publicités et du contenu",
    r"études d['’]audience", r"données de géolocalisation précises",
    # Spanish.
    r"(?:utilizamos|usamos) cookies", r"(?:este )?sitio (?:web )?(?:utiliza|usa) cookies",
    r"nosotros y nuestros (?:\d+ )?socios",
    r"(?:aceptar|rechazar) (?:todo|todas)(?: las cookies)?\b",
    r"aceptar y (?:continuar|cerrar)", r"continuar sin aceptar",
    r"(?:configurar|gestionar|administrar|personalizar) (?:las )?"
    r"(?:cookies|preferencias|opciones)",
    r"configuración de (?:cookies|privacidad)", r"política de (?:privacidad|cookies)",
    r"interés legítimo", r"retirar (?:su|tu) consentimiento",
    r"almacenar (?:la )?información en un dispositivo",
    r"accedemos a información en un dispositivo", r"identificadores únicos",
    r"cambiar (?:tus|sus) preferencias", r"(?:otorgar|negar) tu consentimiento",
    r"anuncios y contenido personalizados", r"medición de anuncios y del contenido",
    r"investigación de audiencia",
    r"datos de localización geográfica precisa",
    # Arabic.
    r"نستخدم ملفات تعريف الارتباط", r"يستخدم هذا الموقع ملفات تعريف الارتباط",
    r"و?(?:إعدادات|سياسة) ملفات تعريف الارتباط", r"(?:قبول|رفض) (?:الكل|الجميع)",
    r"إدارة (?:الخيارات|التفضيلات|الإعدادات)", r"و?سياسة الخصوصية", r"تغيير تفضيلاتك",
    r"المصلحة المشروعة", r"نحن وشركاؤنا", r"و?سحب (?:موافقتك|الموافقة)",
    r"موافقتك على استخدام بياناتك الشخصية",
    # A conjunction (و) is written onto the next word: "وقياس", "وبحث".
    r"و?تخزين المعلومات و/أو الوصول إليها", r"الإعلانات والمحتوى المخص\u0651?ص",
    r"و?قياس أداء الإعلانات والمحتوى", r"و?بحث الجمهور",
    r"مور\u0651?دي tcf", r"شركاء الإعلانات",
)
_INTERSTITIAL = (
    # Bot checks (Cloudflare, PerimeterX/HUMAN, DataDome, Yandex), JavaScript walls.
    r"(?:please )?(?:enable|turn on|activate) javascript(?: and cookies)?",
    r"javascript (?:and cookies )?(?:is|are) (?:disabled|required|enabled)",
    r"are you a (?:robot|human)\??", r"not a (?:robot|bot)\b",
    r"(?:verify|confirm|prove)s? (?:that )?you(?: are|'re|’re) (?:a )?human",
    r"you are a human", r"press (?:&|and) hold",
    r"checking (?:if the site connection is secure|your browser)",
    r"needs? to review the security of your connection",
    r"complete the security check", r"access to this page has been denied",
    r"unusual (?:traffic|activity) from your (?:computer )?network",
    r"(?:look|looks) like (?:automated traffic|they were sent by an automated)",
    r"automation tools", r"reference id", r"ray id",
    r"disable (?:any |your )?ad ?blocker",
    # Subscription walls.
    r"subscribe (?:now )?to (?:continue|keep) reading", r"(?:log|sign) in to continue reading",
    r"already a subscriber\??", r"reached your (?:limit|monthly limit) of free articles",
    r"available to subscribers only", r"subscribe now", r"cancel any ?time",
    # Other languages.
    r"aktifkan javascript", r"apakah anda (?:robot|manusia)", r"bukan robot",
    r"berlangganan untuk (?:melanjutkan|membaca)",
    r"включите javascript", r"(?:вы|я) не робот", r"подтвердите, что",
    r"похожи на автоматические", r"автоматические запросы",
    r"запросы с вашего (?:устройства|ip-адреса)",
    r"(?:bitte )?aktivieren sie javascript", r"sind sie ein (?:roboter|mensch)",
    r"kein roboter",
    r"(?:veuillez )?activer (?:le )?javascript", r"êtes-vous un (?:robot|humain)",
    r"(?:habilite|habilita|active|activa) (?:el )?javascript", r"eres un robot",
    r"(?:يرجى|الرجاء) تفعيل (?:جافا ?سكريبت|javascript)", r"هل أنت (?:روبوت|إنسان)",
    r"لست روبوت",
)
# Every phrase starts a word: the leading \b fails at once inside words, so the ~200
# alternatives are tried at word starts only (a third of the cost of trying every position).
_PHRASES = re.compile(
    rf"\b(?:(?P<consent>{'|'.join(_CONSENT)})|(?P<interstitial>{'|'.join(_INTERSTITIAL)}))")

# The extraction outcome (an ExtractError code) of each group of phrases, and its wording.
_OUTCOMES = {"consent_wall": "a cookie consent wall",
             "interstitial": "a bot-check, JavaScript or subscription page"}
_GROUP_CODES = {"consent": "consent_wall", "interstitial": "interstitial"}


@dataclass(frozen=True)
class Wall:
    """What a text was found to be, and the evidence."""

    code: str  # "consent_wall" or "interstitial": the page's extraction outcome
    share: float  # of the text's characters inside wall phrases
    phrases: tuple[str, ...]  # the distinct phrases found, first seen first

    def describe(self) -> str:
        found = ", ".join(repr(p) for p in self.phrases[:4])
        return (f"{_OUTCOMES[self.code]}, not an article ({self.share:.0%} of its text is "
                f"phrases such as {found})")


def measure(text: str) -> Wall:
    """The wall phrases in ``text`` and their share of it, whatever they amount to."""
    folded = text.casefold()
    by_group = dict.fromkeys(_GROUP_CODES, 0)  # characters inside each group's phrases
    seen: dict[str, None] = {}  # an ordered set
    for match in _PHRASES.finditer(folded):
        by_group[match.lastgroup or "consent"] += match.end() - match.start()
        seen.setdefault(match.group())
    group = max(by_group, key=by_group.__getitem__)  # ties: consent, listed first
    share = sum(by_group.values()) / max(len(folded.strip()), 1)
    return Wall(_GROUP_CODES[group], share, tuple(seen))


def find_wall(text: str) -> Wall | None:
    """The :class:`Wall` ``text`` is, or None for an article (or any other text)."""
    if len(text) > MAX_WALL_CHARS:
        return None
    wall = measure(text)
    found = len(wall.phrases)
    if wall.share < MIN_PHRASE_SHARE or found < MIN_DENSE_PHRASES:
        return None
    if found < MIN_DISTINCT_PHRASES and wall.share < DENSE_SHARE:
        return None
    return wall
