"""What people use: the command lines (`tpn-sim`, `-compare`, `-export`, `-report`), the what-if
page (`tpn-sim-app`), the Hydra configuration they share with notebooks, and the generated ODD
tables.

Top layer: imports every layer below, and nothing below imports it.
"""
