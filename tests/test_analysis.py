from __future__ import annotations

import pytest

from tevatron_ext.analysis import get_analyzer
from tevatron_ext.analysis.amharic import AmharicAnalyzer, fold, light_stem


def test_amharic_homophones_fold_to_one_form():
    # ሀ ሃ ሐ ሓ ኀ ኃ ኸ families (every vowel order), ሰ/ሠ, አ/ዐ/ኣ, ጸ/ፀ
    assert fold("ሀይል") == fold("ሃይል") == fold("ሐይል") == fold("ሓይል") == fold("ኀይል") == fold("ኃይል")
    assert fold("ሠላም") == fold("ሰላም")
    assert fold("ዐይን") == fold("አይን") == fold("ኣይን")
    assert fold("ፀሐይ") == fold("ጸሀይ")
    assert fold("ሑ") == fold("ሁ") and fold("ሦ") == fold("ሶ")  # other vowel orders follow their family
    assert fold("ለ") == "ለ"


def test_amharic_punctuation_and_stemming():
    a = AmharicAnalyzer()
    assert a.analyze("የኢትዮጵያ ዋና ከተማ አዲስ አበባ ናት። ሰላም፣ ዓለም፤") == ["ኢትዮጵያ", "ዋና", "ከተማ", "አዲስ", "አበባ", "ናት", "ሰላም", "አለም"]
    assert light_stem("በኢትዮጵያ") == "ኢትዮጵያ"
    assert light_stem("ለልጅ") == "ለልጅ"  # stem would be 2 letters: kept whole
    assert light_stem("ቤቶችን") == "ቤቶች"
    assert light_stem("ከተማ") == "ከተማ"  # too short once the clitic is stripped


def test_amharic_switches():
    text = "የኢትዮጵያ ሠራዊት"
    assert AmharicAnalyzer(stem=False).analyze(text) == ["የኢትዮጵያ", "ሰራዊት"]
    assert AmharicAnalyzer(fold_homophones=False, stem=False).analyze(text) == ["የኢትዮጵያ", "ሠራዊት"]


def test_khmer_segmentation_and_separators():
    k = get_analyzer("km")
    plain = k.analyze("ប្រទេសកម្ពុជាមានរាជធានីភ្នំពេញ។")
    assert "កម្ពុជា" in plain and "ភ្នំពេញ" in plain and "។" not in "".join(plain)
    assert len(plain) >= 4
    zwsp = k.analyze("ប្រទេស\u200bកម្ពុជា\u200bមាន\u200bរាជធានី\u200bភ្នំពេញ")
    assert zwsp == plain
    assert get_analyzer("km", segment_words=False).analyze("ប្រទេសកម្ពុជា ភ្នំពេញ") == ["ប្រទេសកម្ពុជា", "ភ្នំពេញ"]


def test_registry_of_analyzers():
    assert get_analyzer("sw") is None and get_analyzer("en") is None
    with pytest.raises(ValueError):
        get_analyzer("sw", stem=False)
