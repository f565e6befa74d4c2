"""{{name}}: every module under this package is scanned at boot (config app.packages)."""
