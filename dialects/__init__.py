"""axc.dialects"""
