"""Run fio, keep every result, read its logs, plot, report and serve them."""
