"""(commands are added by the issue that builds them)"""
