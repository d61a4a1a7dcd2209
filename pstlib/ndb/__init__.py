"""The node database layer of [MS-PST] 2.2: header, pages, B-trees, blocks, nodes."""
