import Foundation  // MultipartForm.swift relies on the module importing Foundation (trimmingCharacters).
// The one APIError case MultipartForm.swift throws; the real enum (Sources/GlimpseServer/APIError.swift)
// needs Hummingbird, which the fuzz build leaves out.
enum APIError: Error { case malformedMultipart(reason: String) }
