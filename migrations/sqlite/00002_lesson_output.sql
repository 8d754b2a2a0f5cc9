-- +goose Up
-- What the published output holds: the renditions (JSON list), and the
-- poster and thumbnail track paths relative to output_prefix ('' = none).
ALTER TABLE lessons ADD COLUMN renditions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE lessons ADD COLUMN poster TEXT NOT NULL DEFAULT '';
ALTER TABLE lessons ADD COLUMN thumbnails TEXT NOT NULL DEFAULT '';
