"""Reports: the CSV files, the HTML page, channel types and the terminal review of a flagged narrative."""
