"""Rendering the summary's rows: REPORT.md, report.html, summary.csv and the plots. It
measures nothing, so it gives the same figures on any machine."""
