"""What this machine has (RAM, cgroup limit, CPU, GPUs, memory bandwidth) and who uses it."""
