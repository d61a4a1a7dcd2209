"""The lists, tables and properties layer of [MS-PST] 2.3: heaps, BTHs, PCs and TCs."""
