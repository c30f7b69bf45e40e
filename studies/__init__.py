"""User-study vote analysis (A/B pairwise and 1–3 rankings): Thurstone Case V, Bradley–Terry, Plackett–Luce,
subject bootstrap, significance and observer statistics. Stands alone (no `harness` import); the
`harness analyze-votes` command is a thin wrapper around `studies.analysis.analyze`."""

# The two study designs, and the two kinds of vote file they give (what collect-votes builds and analyze-votes
# reads): "ab" pairs with ties, "rank" rankings 1–3.
DESIGNS = ("ab", "rank")
