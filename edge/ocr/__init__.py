"""Photo evidence: reading stamped pages and checking them against the approved original.

- :mod:`edge.ocr.preprocess`  find and straighten the sheet, the red channel as grey (the seal vanishes)
- :mod:`edge.ocr.backends`    OCR engines by name: ``tesseract`` (default), ``rapidocr`` (optional extra)
- :mod:`edge.ocr.tesseract`   the default engine: one pass over the page, headings read again smaller
- :mod:`edge.ocr.tessapi`     libtesseract through tesserocr, so the language model loads once per process
- :mod:`edge.ocr.capitals`    amounts in capital numerals (大写), glyph by glyph
- :mod:`edge.ocr.numerals`    大写 amounts and Chinese dates to integers and back
- :mod:`edge.ocr.fields`      title, parties, amount (figures and capitals cross-checked), date
- :mod:`edge.ocr.seal`        the red seal impression and the monitored area
- :mod:`edge.ocr.pipeline`    ``read_image`` and ``compare``
- :mod:`edge.ocr.search`      full-text search of stamped pages (SQLite FTS5, trigram)
- :mod:`edge.ocr.cli`         ``qinglian ocr extract | compare | search | render``

Heavy imports (OpenCV, libtesseract) happen in the submodules, so importing
this package (as the CLI does for ``--help``) stays cheap.
"""
