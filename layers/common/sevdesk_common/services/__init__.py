"""Business operations; each route or step handler calls exactly one function here."""
