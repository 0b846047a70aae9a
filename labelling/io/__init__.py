"""Data in and out, without SQL: item values and labels to text and back, CSV reading, export frames and files."""
