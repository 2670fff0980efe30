# orgshield session recorder for AppStream 2.0 Windows images.
# AppStream runs it from C:\AppStream\SessionScripts\config.json in the system context (LocalSystem):
#   -Action Start   at SessionStart: launches the recorder in the background and returns
#   -Action Stop    at SessionTermination: stops it and waits for the last upload
# ffmpeg (gdigrab) runs as LocalSystem inside the user's session (PsExec -s -i), so the user can
# neither see nor stop it; it is restarted when it ends or the desktop size changes. Each finished
# segment and a metadata file go to S3 with the fleet role's credentials (the appstream_machine_role
# profile of the AWS Tools for PowerShell). Object keys carry a pseudonym (HMAC-SHA256 of the user
# name, keyed by a secret the fleet role reads at start), never the user name, and nothing this
# script writes to its log names the user.
param(
    [Parameter(Mandatory = $true)][ValidateSet('Start', 'Stop', 'Run')][string]$Action
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# @settings

$StateDirectory = Join-Path $env:ProgramData 'orgshield-recorder'
$SessionDirectory = Join-Path $StateDirectory 'session'
$PidFile = Join-Path $StateDirectory 'recorder.pid'
$LogFile = Join-Path $StateDirectory 'recorder.log'
$StopFile = Join-Path $StateDirectory 'stop'
$ToolsDirectory = 'C:\AppStream\SessionScripts\orgshield-tools'
$FfmpegExe = Join-Path $ToolsDirectory 'ffmpeg.exe'
$FfprobeExe = Join-Path $ToolsDirectory 'ffprobe.exe'
$PsExecExe = Join-Path $ToolsDirectory 'PsExec64.exe'
$ProfileName = 'appstream_machine_role'
$PollSeconds = 2
$UploadAttempts = 4

function Write-RecorderLog([string]$Message) {
    $line = '{0} orgshield-recorder: {1}' -f (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'), $Message
    Add-Content -Path $LogFile -Value $line
}

# The session's variables: machine-wide ones, and the user's (AppStream_UserName), which a
# LocalSystem process finds only in the signed-in user's registry hive.
function Get-SessionVariable([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name, 'Process')
    if (-not $value) { $value = [Environment]::GetEnvironmentVariable($Name, 'Machine') }
    if (-not $value) {
        foreach ($hive in Get-ChildItem -Path 'Registry::HKEY_USERS' -ErrorAction SilentlyContinue) {
            $environment = Get-ItemProperty -Path (Join-Path $hive.PSPath 'Environment') -ErrorAction SilentlyContinue
            if ($environment -and $environment.PSObject.Properties[$Name]) { $value = $environment.$Name; break }
        }
    }
    if (-not $value) { throw "$Name is not set: not an AppStream session" }
    return $value
}

# The key is stored as base64 of 32 bytes (or as 64 hexadecimal digits).
function Get-HmacSha256Hex([string]$Key, [string]$Message) {
    if ($Key -match '^[0-9a-fA-F]{64}$') {
        $keyBytes = [byte[]]::new(32)
        for ($index = 0; $index -lt 32; $index++) { $keyBytes[$index] = [Convert]::ToByte($Key.Substring($index * 2, 2), 16) }
    } else {
        $keyBytes = [Convert]::FromBase64String($Key)
        if ($keyBytes.Length -ne 32) { throw "the pseudonym key $PseudonymKeyName is not 32 bytes" }
    }
    $hmac = [System.Security.Cryptography.HMACSHA256]::new($keyBytes)
    try {
        $hash = $hmac.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Message))
        return -join ($hash | ForEach-Object { $_.ToString('x2') })
    } finally {
        $hmac.Dispose()
    }
}

function Read-PseudonymKey([string]$Region) {
    if ($PseudonymKeyStore -eq 'ssm') {
        return (Get-SSMParameterValue -Name $PseudonymKeyName -WithDecryption $true -Region $Region -ProfileName $ProfileName).Parameters[0].Value
    }
    return (Get-SECSecretValue -SecretId $PseudonymKeyName -Region $Region -ProfileName $ProfileName).SecretString
}

function Send-RecordingObject([string]$File, [string]$Name, [string]$ContentType) {
    for ($attempt = 1; $attempt -le $UploadAttempts; $attempt++) {
        try {
            Write-S3Object -BucketName $script:Bucket -Key ($script:KeyBase + $Name) -File $File -ContentType $ContentType -Region $script:Region -ProfileName $ProfileName
            return $true
        } catch {
            Write-RecorderLog "upload of $Name failed (attempt $attempt of $UploadAttempts)"
            Start-Sleep -Seconds $attempt
        }
    }
    return $false
}

function Write-Metadata([string]$EndedAt) {
    $metadata = [ordered]@{
        recorder        = 'orgshield'
        version         = 1
        stack           = $script:Session.Stack
        fleet           = $script:Session.Fleet
        sessionId       = $script:Session.SessionId
        user            = $script:Session.UserName
        userPseudonym   = $script:Pseudonym
        image           = $script:Session.ImageArn
        instanceType    = $script:Session.InstanceType
        startedAt       = $script:StartedAt
        endedAt         = $EndedAt
        segmentSeconds  = $SegmentSeconds
        framesPerSecond = $FramesPerSecond
    }
    $metadataFile = Join-Path $SessionDirectory 'metadata.json'
    $metadata | ConvertTo-Json -Compress | Set-Content -Path $metadataFile -Encoding UTF8
    return $metadataFile
}

# The desktop's size as ffprobe sees it from inside the user's session.
function Get-DesktopGeometry {
    $probeFile = Join-Path $StateDirectory 'geometry.txt'
    Remove-Item -Path $probeFile -ErrorAction SilentlyContinue
    $arguments = @('-accepteula', '-nobanner', '-s', '-i', $script:ConsoleSession, 'cmd.exe', '/c',
        "`"$FfprobeExe`" -v error -f gdigrab -i desktop -show_entries stream=width,height -of csv=p=0:s=x > `"$probeFile`"")
    Start-Process -FilePath $PsExecExe -ArgumentList $arguments -WindowStyle Hidden -Wait | Out-Null
    if (Test-Path $probeFile) { return (Get-Content -Path $probeFile -TotalCount 1) }
    return ''
}

function Start-Capture([string]$Geometry) {
    $script:RunNumber++
    $run = '{0:D3}' -f $script:RunNumber
    $listFile = Join-Path $SessionDirectory "run-$run.list"
    $segmentPattern = Join-Path $SessionDirectory "segment-$run-%05d.mp4"
    $arguments = @('-accepteula', '-nobanner', '-s', '-i', $script:ConsoleSession, '-d', $FfmpegExe,
        '-nostdin', '-loglevel', 'error', '-f', 'gdigrab', '-framerate', $FramesPerSecond, '-video_size', $Geometry, '-i', 'desktop',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-pix_fmt', 'yuv420p', '-g', ($FramesPerSecond * 2),
        '-f', 'segment', '-segment_time', $SegmentSeconds, '-reset_timestamps', '1', '-segment_format', 'mp4',
        '-segment_format_options', 'movflags=+frag_keyframe+empty_moov',
        '-segment_list', "`"$listFile`"", '-segment_list_type', 'flat', "`"$segmentPattern`"")
    # With -d, PsExec's exit code is the started process's id.
    $psexec = Start-Process -FilePath $PsExecExe -ArgumentList $arguments -WindowStyle Hidden -Wait -PassThru
    $script:FfmpegId = $psexec.ExitCode
    $script:FfmpegGeometry = $Geometry
    Write-RecorderLog "capturing the desktop at $Geometry (run $run)"
}

function Stop-Capture {
    if (-not $script:FfmpegId) { return }
    $ffmpeg = Get-Process -Id $script:FfmpegId -ErrorAction SilentlyContinue
    if ($ffmpeg) {
        # taskkill without /F asks ffmpeg to close, so the segment it writes is finished.
        & taskkill.exe /PID $script:FfmpegId | Out-Null
        if (-not $ffmpeg.WaitForExit(5000)) { Stop-Process -Id $script:FfmpegId -Force -ErrorAction SilentlyContinue }
    }
    $script:FfmpegId = 0
}

function Send-FinishedSegments {
    foreach ($list in Get-ChildItem -Path $SessionDirectory -Filter 'run-*.list' -ErrorAction SilentlyContinue) {
        $run = $list.BaseName.Substring(4)
        $finished = @(Get-Content -Path $list.FullName | Where-Object { $_ })
        $runEnded = ([int]$run -ne $script:RunNumber) -or (-not $script:FfmpegId)
        foreach ($segment in Get-ChildItem -Path $SessionDirectory -Filter "segment-$run-*.mp4") {
            if ($runEnded -or ($finished -contains $segment.Name)) {
                if (Send-RecordingObject $segment.FullName $segment.Name 'video/mp4') { Remove-Item -Path $segment.FullName }
            }
        }
    }
}

function Invoke-Recorder {
    Import-Module AWSPowerShell -ErrorAction Stop
    $script:Session = [ordered]@{
        Stack        = Get-SessionVariable 'AppStream_Stack_Name'
        Fleet        = Get-SessionVariable 'AppStream_Resource_Name'
        SessionId    = Get-SessionVariable 'AppStream_Session_ID'
        UserName     = Get-SessionVariable 'AppStream_UserName'
        ImageArn     = Get-SessionVariable 'AppStream_Image_Arn'
        InstanceType = Get-SessionVariable 'AppStream_Instance_Type'
    }
    # The image ARN names the region the fleet runs in (arn:aws:appstream:REGION:ACCOUNT:image/NAME).
    $script:Region = $script:Session.ImageArn.Split(':')[3]
    $account = (Get-STSCallerIdentity -Region $script:Region -ProfileName $ProfileName).Account
    $script:Bucket = $BucketTemplate.Replace('{account}', $account).Replace('{region}', $script:Region)
    $key = Read-PseudonymKey $script:Region
    $script:Pseudonym = Get-HmacSha256Hex $key $script:Session.UserName.ToLowerInvariant()
    Remove-Variable -Name key
    $script:KeyBase = '{0}{1}/{2}/{3}/{4}/' -f $KeyPrefix, $script:Session.Stack, $script:Session.Fleet, $script:Pseudonym, $script:Session.SessionId
    $script:ConsoleSession = (Get-Process -Name explorer -IncludeUserName | Select-Object -First 1).SessionId
    $script:RunNumber = 0
    $script:FfmpegId = 0
    $script:FfmpegGeometry = ''
    New-Item -ItemType Directory -Path $SessionDirectory -Force | Out-Null
    $script:StartedAt = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    $metadataFile = Write-Metadata $null
    if (-not (Send-RecordingObject $metadataFile 'metadata.json' 'application/json')) { Write-RecorderLog 'the first metadata upload failed; it is sent again at the end' }
    Write-RecorderLog ('recording session {0} to s3://{1}/{2}' -f $script:Session.SessionId, $script:Bucket, $script:KeyBase)

    while (-not (Test-Path $StopFile)) {
        if ($script:FfmpegId -and -not (Get-Process -Id $script:FfmpegId -ErrorAction SilentlyContinue)) {
            $script:FfmpegId = 0
            Write-RecorderLog 'ffmpeg ended (desktop gone or changed)'
        }
        $geometry = Get-DesktopGeometry
        if ($script:FfmpegId -and $geometry -and ($geometry -ne $script:FfmpegGeometry)) {
            Write-RecorderLog "desktop changed from $($script:FfmpegGeometry) to $geometry"
            Stop-Capture
        }
        if (-not $script:FfmpegId -and $geometry) { Start-Capture $geometry }
        Send-FinishedSegments
        Start-Sleep -Seconds $PollSeconds
    }
    Stop-Capture
    Send-FinishedSegments
    $metadataFile = Write-Metadata (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    if (-not (Send-RecordingObject $metadataFile 'metadata.json' 'application/json')) { Write-RecorderLog 'the last metadata upload failed' }
    Remove-Item -Path $StopFile -ErrorAction SilentlyContinue
    Write-RecorderLog 'recording stopped'
}

function Start-Recorder {
    New-Item -ItemType Directory -Path $StateDirectory -Force | Out-Null
    if ((Test-Path $PidFile) -and (Get-Process -Id ([int](Get-Content -Path $PidFile)) -ErrorAction SilentlyContinue)) {
        Write-RecorderLog 'the recorder is already running'
        return
    }
    Remove-Item -Path $StopFile -ErrorAction SilentlyContinue
    # Detached, so that AppStream's wait for this script ends at once.
    $recorder = Start-Process -FilePath 'powershell.exe' -WindowStyle Hidden -PassThru -ArgumentList @(
        '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', "`"$PSCommandPath`"", '-Action', 'Run')
    Set-Content -Path $PidFile -Value $recorder.Id
}

function Stop-Recorder {
    if (-not (Test-Path $PidFile)) { return }
    $recorder = Get-Process -Id ([int](Get-Content -Path $PidFile)) -ErrorAction SilentlyContinue
    # A file, not a signal: Windows has no SIGTERM for a hidden PowerShell to trap.
    Set-Content -Path $StopFile -Value 'stop'
    if ($recorder) { $recorder.WaitForExit($StopWaitSeconds * 1000) | Out-Null }
    Remove-Item -Path $PidFile -ErrorAction SilentlyContinue
}

try {
    switch ($Action) {
        'Start' { Start-Recorder }
        'Stop' { Stop-Recorder }
        'Run' { Invoke-Recorder }
    }
} catch {
    Write-RecorderLog "failed: $($_.Exception.Message)"
    exit 1
}
