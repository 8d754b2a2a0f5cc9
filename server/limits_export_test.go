package server

// PasswordHashPeak reports the most password hashes s has ever computed at
// once.
func PasswordHashPeak(s *Server) int64 { return s.hashes.peak.Load() }
