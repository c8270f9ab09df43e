"""Reading tables safely: encodings, CSV dialects, xlsx/xls workbooks, JSON.

Loaders are the only code that knows file layouts; this package only turns bytes
into rows (with their row numbers) and reports what it saw on the way.
"""
from .encoding import decode, read_text
from .tables import Row, Table, read_csv, read_json, read_workbook

__all__ = ["decode", "read_text", "Row", "Table", "read_csv", "read_json", "read_workbook"]
