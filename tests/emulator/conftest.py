"""Tests of the emulator's named fixes (scripts/emulator_fixes), against the emulator alone.

Each test file covers one fix: it talks to the emulator with boto3 (or psycopg) exactly as a
client of AWS would, and asserts what AWS answers. No playbook, no product code.
"""
