"""The ground floor, imported by every layer and importing none: physical constants and the JSON
quantity convention (units), result files (io), formulas and charges (composition), thread
settings (threads), progress lines with an ETA (progress), the seed paper's own numbers (paper)."""
