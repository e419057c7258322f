"""axc.runtime"""
