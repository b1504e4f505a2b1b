"""The embedded lab of gridsec.ops: test PKI, lab Argus PAP, lab PanDA, real panda-server launcher.

Controller-side development and test code (Python >= 3.11). It is not part of the collection artifact.
"""
