"""One module per rule with its texts: ``TEXTS = {key: {"en": ..., "zh-cn": ...}}``."""
