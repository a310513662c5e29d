"""Scheduling trials onto devices: GPU/CPU slots, processes, Slurm array jobs."""
