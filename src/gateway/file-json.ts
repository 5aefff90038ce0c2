import type { FileRecord } from '../meta/index.ts'

/** A file as the API shows it. */
export function fileJson(file: FileRecord) {
  return {
    name: file.name,
    size: file.size,
    sha256: file.sha256,
    chunks: file.chunkCount,
    content_type: file.contentType,
    created: new Date(file.created).toISOString(),
  }
}

/** The path of a file in the API, each segment percent-encoded. */
export function fileLocation(name: string): string {
  return `/v1/files/${name.split('/').map(encodeURIComponent).join('/')}`
}
