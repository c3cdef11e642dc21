<?php

use App\Http\Controllers\Api\SiteApiController;
use Illuminate\Support\Facades\Route;

Route::middleware('auth:sanctum')->prefix('v1')->group(function () {
    Route::get('/sites', [SiteApiController::class, 'index']);
    Route::post('/sites', [SiteApiController::class, 'store']);
    Route::get('/sites/{site}', [SiteApiController::class, 'show']);
});
