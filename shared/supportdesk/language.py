"""The language a text is written in, when nothing else says: Spanish or English.

A guest who mails us has no profile language, and most mail carries no Content-Language.
Telling our two languages apart needs no model: their commonest words barely overlap, so
counting them decides, and a text with too few of either (a one-word subject, a bare
link) keeps the default. Dependency-free on purpose: general detectors ship profiles of
dozens of languages to the layer to answer a question with two possible answers.
"""

from __future__ import annotations

import re

from supportdesk.i18n import DEFAULT_LANGUAGE

# Frequent words of one language that are not words of the other ("a", "no", "me" are both).
_STOPWORDS = {
    "es": frozenset("""
        el la los las un una unos unas y o pero que de del al en con por para sin sobre
        es son está están estoy esta este esto hay ser fue sido tengo tiene tenemos puede
        pueden mi mis su sus nuestro nuestra mío yo usted ustedes nosotros ellos se lo le les
        muy más ya también cuando donde como porque qué cómo cuándo dónde hola gracias
        buenos buenas días favor ayuda saludos quiero quisiera necesito desde hasta
        pregunta problema cuenta dominio correo página funciona cuánto precio
    """.split()),
    "en": frozenset("""
        the and or but of to in on at with for from by about without is are was were be
        been am have has had do does did can could would should will my your our their
        his her its we you they it this that these those there here what when where why how
        hello hi thanks thank please help regards want need would like question problem
        account domain email page website working not any some how much price
    """.split()),
}
_WORD = re.compile(r"[^\W\d_]+")
# Fewer words of the leading language than this, or a tie, is no evidence.
_MIN_WORDS = 2


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """'es' or 'en' by the stopwords `text` uses; `default` when it does not tell."""
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text.lower()):
        for language, words in _STOPWORDS.items():
            if word in words:
                counts[language] += 1
    best = max(counts, key=lambda language: counts[language])
    others = max(count for language, count in counts.items() if language != best)
    if counts[best] < _MIN_WORDS or counts[best] == others:
        return default
    return best
