import SharecastCore
import SharecastGuide
import SharecastStore
#if canImport(Glibc)
import Glibc
#endif

/// One import in progress: the guide channels learned so far, the programmes stored, and the
/// window and shift they are kept by. `GuideImporter.importFiles` reads each file through it, so
/// the channels of one file map the programmes of the next (a provider may split its guide).
struct GuideImportRun {
    let source: GuideSourceConfig
    let settings: GuideConfig
    let writer: GuideImportWriter
    let maxDocumentBytes: Int
    /// The kept window (UTC seconds, after the shift) and the shift.
    let from: Int64, until: Int64, shift: Int64
    private(set) var mapper: GuideMapper
    private(set) var covered = Set<String>()
    private(set) var report: GuideImportReport

    init(source: GuideSourceConfig, targets: [GuideMapper.Target], settings: GuideConfig, writer: GuideImportWriter,
         maxDocumentBytes: Int, now: Int64) {
        self.source = source
        self.settings = settings
        self.writer = writer
        self.maxDocumentBytes = maxDocumentBytes
        from = now - Int64(settings.pastDays) * 86_400
        until = now + Int64(settings.futureDays) * 86_400
        shift = Int64(source.timeShiftSeconds)
        mapper = GuideMapper(targets: targets)
        report = GuideImportReport(source: source.name)
    }

    /// One file being read: its parser and how many (decompressed) bytes it has given.
    private struct Document {
        var reader: XMLTVReader
        let display: String
        var bytes = 0
    }

    /// Reads one file, gzip or plain, to its end.
    mutating func read(path: String, display: String) throws {
        guard let file = fopen(path, "rb") else { throw failure("cannot open \(display)") }
        defer { fclose(file) }
        var document = Document(reader: XMLTVReader(source: display), display: display)
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        var inflater: Inflater?
        var first = true
        do {
            while true {
                let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
                if count == 0 { break }
                let bytes = chunk[0..<count]
                if first {
                    first = false
                    if count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
                        guard let made = Inflater() else { throw failure("zlib could not be initialised") }
                        inflater = made
                    }
                }
                if let inflater {
                    try inflater.inflate(bytes) { try feed($0, to: &document) }
                } else {
                    try feed(bytes, to: &document)
                }
            }
        } catch let error as InflateError {
            throw failure("\(display): \(error)")
        }
        guard ferror(file) == 0 else { throw failure("cannot read \(display)") }
        document.reader.finish()
        try drain(&document)
        report.skipped += document.reader.skipped
    }

    /// What the import amounts to once every file was read.
    mutating func finish() -> GuideImportReport {
        report.channelsMapped = covered.count
        report.covered = covered
        report.channelsUnmapped = mapper.servedIDs.subtracting(covered).count
        return report
    }

    private mutating func feed(_ bytes: ArraySlice<UInt8>, to document: inout Document) throws {
        document.bytes += bytes.count
        guard document.bytes <= maxDocumentBytes else {
            throw failure("\(document.display) is larger than \(maxDocumentBytes) bytes once decompressed")
        }
        document.reader.feed(bytes)
        try drain(&document)
    }

    /// Takes every item the parser has whole: channels teach the mapper, programmes of served
    /// channels inside the window are stored.
    private mutating func drain(_ document: inout Document) throws {
        while let item = try document.reader.next() {
            switch item {
            case let .channel(channel):
                mapper.learn(channel)
            case let .programme(programme):
                try store(programme, line: document.reader.line, display: document.display)
            }
        }
    }

    private mutating func store(_ programme: GuideProgramme, line: Int, display: String) throws {
        let served = mapper.served(for: programme.channel)
        guard !served.isEmpty else { return }
        // Both come from the file (and the shift from the config): added with a check.
        let (start, overflow) = programme.start.addingReportingOverflow(shift)
        let stop = programme.stop.flatMap { stop -> Int64? in
            let (shifted, overflow) = stop.addingReportingOverflow(shift)
            return overflow ? nil : shifted
        }
        guard !overflow, start < until, (stop ?? start.addingReportingOverflow(3600).partialValue) > from else { return }
        let body = XMLTVWriter.body(programme)
        for id in served {
            report.programmes += 1
            guard report.programmes <= settings.maxProgrammes else {
                throw failure("\(display) has more than \(settings.maxProgrammes) programmes in the kept window (epg.max_programmes), at line \(line)")
            }
            covered.insert(id)
            try writer.add(StoredProgramme(channel: id, start: start, stop: stop, title: programme.title, body: body))
        }
    }

    private func failure(_ reason: String) -> GuideImportError {
        GuideImportError(source: source.name, reason: reason)
    }
}
