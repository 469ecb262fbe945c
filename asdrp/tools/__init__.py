"""Offline tool functions the agents call: geo, clock, finance and calculator, over a shared gazetteer."""
