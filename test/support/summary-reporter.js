// Prints the plain closing line "N passed, N failed[, N skipped]" after jest's own summary, so
// tools that read a test run's last line (CI here) see how many tests ran.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `\n${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // jest prints its own summary after every custom reporter; on exit, this line comes last.
    process.once('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryReporter;
