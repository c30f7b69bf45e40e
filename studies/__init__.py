"""User-study vote analysis (A/B pairwise and 1–3 rankings): Thurstone Case V, Bradley–Terry, Plackett–Luce,
subject bootstrap, significance and observer statistics. Stands alone (no `harness` import); the
`harness analyze-votes` command is a thin wrapper around `studies.analysis.analyze`."""
