"""Import of accounts and contacts from CSV files and the bulk API: mapping, dry run, then exactly that (README, "Import")."""
