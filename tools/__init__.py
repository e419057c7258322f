"""axc.tools"""
