import ArgumentParser
import Foundation
import GlimpseModels

/// `glimpse model download ID`.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Manage models.",
                                                    subcommands: [Download.self])

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model from the Hugging Face Hub into the Hugging Face cache.",
            discussion: "Honours $HF_ENDPOINT, $HF_TOKEN and $HF_HOME. An interrupted download resumes; every file is checked against the Hub's checksum.")

        @Argument(help: "Repo id, e.g. openai/clip-vit-base-patch32.") var id: String
        @Option(help: "Branch, tag or commit.") var revision = "main"

        func run() async throws {
            let bar = DownloadProgressLine()
            do {
                let folder = try await HubClient().download(repo: id, revision: revision, progress: { bar.update($0) })
                bar.finish()
                print(folder)
            } catch {
                bar.finish()
                throw CLIError("\(error)")
            }
        }
    }
}
