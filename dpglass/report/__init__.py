"""The presentation layer: what a scientist reads and plans with, above the config.

    markdown     summary.md, the cross-composition table, number formatting
    summary      the one assembly of summary.json from the stages' results
    figures      every figure (matplotlib, lazily)
    loop         the learning loop's table and figure
    certificate  certificate.md
    plan         the cost plan (`dpglass plan`)
    provenance   code, versions, machine and labels of a run
    docs         the configuration reference generated from the schema
"""
