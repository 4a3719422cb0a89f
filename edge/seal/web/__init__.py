"""The seal's web router and its templates, mounted by the console's shell."""
