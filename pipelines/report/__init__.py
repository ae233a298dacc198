"""The daily alert report: one self-contained HTML file with inline CSS and SVG charts."""
