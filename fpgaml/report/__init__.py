"""Reports of estimates and synthesis results: terminal tables and self-contained HTML."""

from .html import render_html_report, write_html_report
from .table import budget_lines, estimate_table_text, print_estimate_table

__all__ = ['write_html_report', 'render_html_report', 'estimate_table_text', 'print_estimate_table', 'budget_lines']
