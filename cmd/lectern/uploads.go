package main

import (
	"path/filepath"

	"github.com/lectern/lectern/server"
)

// uploadOptions says where the API keeps partial resumable uploads: as
// multipart uploads in the S3 bucket (under "uploads/") when S3 is
// configured, so that every API process sees them, else as files in
// <data dir>/uploads.
func uploadOptions(cfg *Config) server.UploadOptions {
	if cfg.S3.Endpoint != "" {
		return server.UploadOptions{S3: server.UploadS3{
			Endpoint:  cfg.S3.Endpoint,
			AccessKey: cfg.S3.AccessKey,
			SecretKey: cfg.S3.SecretKey,
			Bucket:    cfg.S3.Bucket,
			Region:    cfg.S3.Region,
			UseSSL:    cfg.S3.UseSSL,
			Prefix:    tusS3Prefix,
		}}
	}
	return server.UploadOptions{Dir: filepath.Join(cfg.DataDir, "uploads"), MinFreeBytes: cfg.MinFreeDisk}
}

// tusS3Prefix is where partial resumable uploads live in the bucket.
const tusS3Prefix = "uploads/"
