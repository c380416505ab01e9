"""Credit records and their versions: collection by API and spreadsheet (归集)."""
