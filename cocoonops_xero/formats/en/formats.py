"""Dates and times as the platform shows them, in English (en-gb and any other en-*): 24-hour times and
no abbreviations ending in a dot, so that a time closing a sentence never reads "6:09 a.m..". Formats not
set here are Django's for the language (Django's own en_GB: input formats, first day of the week)."""

DATE_FORMAT = "j M Y"  # 25 Oct 2006
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "j M Y, H:i"  # 25 Oct 2006, 14:30
SHORT_DATE_FORMAT = "d/m/Y"  # 25/10/2006
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # 25/10/2006 14:30
