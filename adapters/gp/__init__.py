"""GP practice adapters (huisartsenpraktijk): free U3 and U4 consults."""
