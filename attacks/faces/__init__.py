"""Faces: re-identifying reconstructed faces (pluggable matchers) and their image quality (PSNR, SSIM)."""
