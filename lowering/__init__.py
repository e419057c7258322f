"""axc.lowering"""
