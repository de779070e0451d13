"""Ray-free operators over records and Arrow batches: scan, sources, probe, decode+chunk
(video, audio, image, shots, VAD), the sink."""
