"""axc.config"""
