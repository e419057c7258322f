"""axc.passes"""
